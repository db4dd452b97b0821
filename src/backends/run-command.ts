import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { LineTail } from "../utilities/line-tail.ts";

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
 * signal stops it and everything it started (a build's compilers too: it
 * runs in its own process group). Rejects with `CommandFailedError`
 * (carrying the tail of its output) when it cannot start or exits
 * unsuccessfully, with the signal's reason when aborted.
 */
export function runCommand(command: string, args: readonly string[], options: RunCommandOptions = {}): Promise<string> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    const stopGroup = () => {
      try {
        process.kill(-child.pid!, "SIGTERM");
      } catch {
        // Already gone.
      }
    };
    signal?.addEventListener("abort", stopGroup, { once: true });
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
      signal?.removeEventListener("abort", stopGroup);
      reject(new CommandFailedError(`${command} could not start: ${error.message}`, { cause: error }));
    });
    child.once("close", (code, exitSignal) => {
      signal?.removeEventListener("abort", stopGroup);
      if (signal?.aborted) return reject(signal.reason);
      if (code === 0) return resolve(stdout);
      const how = exitSignal ? `was killed by ${exitSignal}` : `exited with code ${code}`;
      reject(new CommandFailedError(`${command} ${args.join(" ")} ${how}\n${tail.text()}`));
    });
  });
}
