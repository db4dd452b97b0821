import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { LineTail } from "./line-tail.ts";

export interface RunCommandOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly signal?: AbortSignal;
  /** Receives each line of stdout and stderr as it comes. */
  readonly onLine?: (line: string) => void;
}

/** A command exited with a failure; the message ends with its last output lines. */
export class CommandFailedError extends Error {
  override readonly name = "CommandFailedError";
}

/**
 * Runs a command to completion and resolves with its stdout. Aborting the
 * signal kills it. Rejects with `CommandFailedError` (carrying the tail of its
 * output) when it cannot start or exits unsuccessfully.
 */
export function runCommand(command: string, args: readonly string[], options: RunCommandOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      signal: options.signal,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const tail = new LineTail({ maxLines: 30, maxBytes: 8192 });
    let stdout = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    const watch = (stream: NodeJS.ReadableStream) =>
      createInterface({ input: stream, crlfDelay: Infinity }).on("line", (line) => {
        tail.push(line);
        options.onLine?.(line);
      });
    watch(child.stdout);
    watch(child.stderr);
    child.once("error", (error) => {
      if (options.signal?.aborted) reject(options.signal.reason);
      else reject(new CommandFailedError(`${command} could not start: ${error.message}`, { cause: error }));
    });
    child.once("close", (code, signal) => {
      if (code === 0) return resolve(stdout);
      if (options.signal?.aborted) return reject(options.signal.reason);
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      reject(new CommandFailedError(`${command} ${args.join(" ")} ${how}\n${tail.text()}`));
    });
  });
}
