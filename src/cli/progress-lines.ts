/**
 * Progress as plain lines, one per step and at most one a second while
 * bytes move: readable in a log or a pipe. NDJSON progress streams from the
 * server (`{status, digest?, total?, completed?}`, ending in
 * `{"status":"success"}` or `{"error"}`) are read here.
 */
import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import * as v from "valibot";

const ProgressSchema = v.object({
  status: v.string(),
  digest: v.optional(v.string()),
  total: v.optional(v.number()),
  completed: v.optional(v.number()),
});

const ProgressLineSchema = v.union([v.object({ error: v.string() }), ProgressSchema]);

export type Progress = v.InferOutput<typeof ProgressSchema>;

/** A listener that prints `status`, or `status 42% (3.1/7.4 MB)` for byte counts. */
export function progressPrinter(write: (line: string) => void, intervalMs = 1000): (progress: Progress) => void {
  let lastStatus: string | undefined;
  let lastAt = 0;
  return ({ status, total, completed }) => {
    const now = Date.now();
    const done = total !== undefined && completed === total;
    if (status === lastStatus && !done && now - lastAt < intervalMs) return;
    lastStatus = status;
    lastAt = now;
    if (!total || completed === undefined) return write(status);
    write(`${status} ${Math.floor((completed / total) * 100)}% (${megabytes(completed)}/${megabytes(total)} MB)`);
  };
}

/**
 * Reads a progress stream to its end, reporting each line.
 *
 * @throws Error with the server's message for an `{"error"}` line, or when the stream ends without success
 */
export async function followProgress(response: Response, onProgress: (progress: Progress) => void): Promise<void> {
  if (!response.body) throw new Error("the server sent no progress");
  let succeeded = false;
  const lines = createInterface({ input: Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const parsed = v.safeParse(ProgressLineSchema, JSON.parse(line));
    if (!parsed.success) throw new Error(`unexpected progress from the server: ${line.slice(0, 200)}`);
    if ("error" in parsed.output) throw new Error(parsed.output.error);
    onProgress(parsed.output);
    succeeded = parsed.output.status === "success";
  }
  if (!succeeded) throw new Error("the server ended the stream before success");
}

function megabytes(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}
