import { pino, type DestinationStream, type Logger } from "pino";
import type { LogBuffer } from "./log-buffer.ts";
import { formatLogRecord } from "./log-format.ts";

export type { Logger };

/** `pretty` for people (the default on a terminal), `json` for machines (anywhere else). */
export type LogFormat = "json" | "pretty";

export interface LoggerOptions {
  readonly level: string;
  readonly format: LogFormat;
  /** Also keeps each line here, for `GET /logs`. */
  readonly buffer?: LogBuffer;
}

/** The gateway's logger, on stderr so stdout stays free for commands' output. */
export function createLogger({ level, format, buffer }: LoggerOptions): Logger {
  const stderr: DestinationStream =
    format === "json" ? pino.destination(2) : { write: (line) => void process.stderr.write(`${formatLine(line, true)}\n`) };
  const streams: pino.StreamEntry[] = [{ level: level as pino.Level, stream: stderr }];
  // Formatted only when `/logs` reads it: most lines never are.
  if (buffer) streams.push({ level: level as pino.Level, stream: { write: (line) => buffer.gatewayLine(() => formatLine(line, false)) } });
  return pino({ level, base: { service: "modelgate" } }, pino.multistream(streams));
}

function formatLine(line: string, color: boolean): string {
  return formatLogRecord(JSON.parse(line) as Record<string, unknown>, { color });
}
