/**
 * Progress as plain lines, one per step and at most one a second while
 * bytes move: readable in a log or a pipe. NDJSON progress streams from the
 * server (`{status, digest?, total?, completed?}`, ending in
 * `{"status":"success"}` or `{"error"}`) are read here.
 */
import * as v from "valibot";
import { ndjsonLines } from "./ndjson-lines.ts";
import { progressBar, type ProgressBarOptions } from "./progress-bar.ts";

const ProgressSchema = v.object({
  status: v.string(),
  digest: v.optional(v.string()),
  total: v.optional(v.number()),
  completed: v.optional(v.number()),
});

const ProgressLineSchema = v.union([v.object({ error: v.string() }), ProgressSchema]);

export type Progress = v.InferOutput<typeof ProgressSchema>;

/** Where progress is shown; `end` closes the last line. */
export interface ProgressView {
  show(progress: Progress): void;
  end(): void;
}

/** A bar redrawn in place on a terminal, plain lines (`status 42% (3.1/7.4 MB)`) anywhere else. */
export function progressView(stream: NodeJS.WriteStream = process.stdout, options: ProgressBarOptions = {}): ProgressView {
  if (stream.isTTY) return progressBar(stream, options);
  const print = progressPrinter((line) => stream.write(`${line}\n`), 1000, options.counts);
  return { show: print, end: () => {} };
}

/** Runs `work` with a view on stdout, closing its last line however the work ends. */
export async function withProgressView<T>(work: (view: ProgressView) => Promise<T>, options: ProgressBarOptions = {}): Promise<T> {
  const view = progressView(process.stdout, options);
  try {
    return await work(view);
  } finally {
    view.end();
  }
}

/** A listener that prints `status`, or `status 42% (3.1/7.4 MB)` for byte counts. */
export function progressPrinter(
  write: (line: string) => void,
  intervalMs = 1000,
  counts: ProgressBarOptions["counts"] = "bytes",
): (progress: Progress) => void {
  let lastStatus: string | undefined;
  let lastAt = 0;
  return ({ status, total, completed }) => {
    const now = Date.now();
    const done = total !== undefined && completed === total;
    if (status === lastStatus && !done && now - lastAt < intervalMs) return;
    lastStatus = status;
    lastAt = now;
    if (!total || completed === undefined) return write(status);
    const percent = `${status} ${Math.floor((completed / total) * 100)}%`;
    write(counts === "bytes" ? `${percent} (${megabytes(completed)}/${megabytes(total)} MB)` : percent);
  };
}

/**
 * Reads a progress stream to its end, reporting each line.
 *
 * @throws Error with the server's message for an `{"error"}` line, or when the stream ends without success
 */
export async function followProgress(response: Response, onProgress: (progress: Progress) => void): Promise<void> {
  let succeeded = false;
  for await (const line of ndjsonLines(response, ProgressLineSchema)) {
    if ("error" in line) throw new Error(line.error);
    onProgress(line);
    succeeded = line.status === "success";
  }
  if (!succeeded) throw new Error("the server ended the stream before success");
}

function megabytes(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}
