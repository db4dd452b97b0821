import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";

export interface LineBatchOptions {
  /** How long the stream rests after each chunk, so lines written one by one are read together. */
  readonly restMs: number;
  /** A chunk this large means the writer is busy: no rest, lest its pipe fill and block it. */
  readonly busyBytes?: number;
  /** A line longer than this is passed on in pieces of this size. */
  readonly maxLineLength?: number;
  /** Lines come as they are written until one of them passes this; the rests start after it. Rests from the start by default. */
  readonly restsAfter?: (line: string) => boolean;
}

/**
 * Calls `onLine` for each line of `stream` (UTF-8; `\n`, `\r\n` or a lone
 * `\r` end a line, as readline has it), reading the stream in batches: after
 * each small chunk it rests `restMs`. A process that writes its log a line at
 * a time (llama-server: some thirty lines per request) then wakes the reader
 * once per rest rather than once per line, while lines still arrive within
 * `restMs`. What is left when the stream ends is the last line.
 *
 * @example readLineBatches(child.stderr, log, { restMs: 50, restsAfter: (line) => line.endsWith("model loaded") })
 */
export function readLineBatches(stream: Readable, onLine: (line: string) => void, options: LineBatchOptions): void {
  const { restMs, busyBytes = 16 * 1024, maxLineLength = 64 * 1024, restsAfter } = options;
  const decoder = new StringDecoder("utf8");
  let partial = "";
  let resting = false;
  let rests = restsAfter === undefined;
  const passOn = (line: string) => {
    if (!rests) rests = restsAfter!(line);
    onLine(line);
  };
  const rest = () => {
    resting = true;
    stream.pause();
    setTimeout(() => {
      resting = false;
      stream.resume();
    }, restMs);
  };
  stream.on("data", (chunk: Buffer) => {
    let text = partial + decoder.write(chunk);
    // A `\r` at the end may be the first half of a `\r\n` still on its way.
    const heldReturn = text.endsWith("\r");
    if (heldReturn) text = text.slice(0, -1);
    const lines = text.split(/\r\n|\r|\n/);
    partial = lines.pop()!;
    for (const line of lines) passOn(line);
    while (partial.length > maxLineLength) {
      passOn(partial.slice(0, maxLineLength));
      partial = partial.slice(maxLineLength);
    }
    if (heldReturn) partial += "\r";
    if (rests && chunk.length < busyBytes && !resting) rest();
  });
  stream.on("end", () => {
    const last = (partial + decoder.end()).replace(/\r$/, "");
    partial = "";
    if (last) onLine(last);
  });
}
