import { pino, type Logger } from "pino";

export type { Logger };

/** The gateway's logger: JSON lines on stderr, so stdout stays free for commands' output. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: "modelgate" } }, pino.destination(2));
}
