import { execFile } from "node:child_process";
import { join } from "node:path";

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const binary = join(new URL("../../..", import.meta.url).pathname, "bin/modelgate.mjs");

/**
 * Runs the real binary (`node bin/modelgate.mjs …`) to its exit. `env` is
 * the whole environment, so a test decides which server variables it sees.
 */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [binary, ...args], { env, timeout: 120_000 }, (error, stdout, stderr) => {
      const code = error ? error.code : 0;
      if (typeof code !== "number") reject(error ?? new Error("no exit code"));
      else resolve({ code, stdout, stderr });
    });
  });
}

/** This process's environment without the variables that point the CLI at a server or a store. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of ["MODELGATE_HOST", "OLLAMA_HOST", "MODELGATE_HOME"]) delete env[name];
  return { ...env, ...extra };
}
