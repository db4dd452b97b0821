import { execFile, spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export const cliBinary = join(new URL("../../..", import.meta.url).pathname, "bin/modelgate.mjs");

/**
 * Runs the real binary (`node bin/modelgate.mjs …`) to its exit, with
 * `input` (default nothing) on a piped stdin. `env` is the whole
 * environment, so a test decides which server variables it sees.
 */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv, input = ""): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [cliBinary, ...args], { env, timeout: 120_000 }, (error, stdout, stderr) => {
      const code = error ? error.code : 0;
      if (typeof code !== "number") reject(error ?? new Error("no exit code"));
      else resolve({ code, stdout, stderr });
    });
    child.stdin?.end(input);
  });
}

/** This process's environment without the variables that point the CLI at a server or a store. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of ["MODELGATE_HOST", "OLLAMA_HOST", "MODELGATE_HOME"]) delete env[name];
  return { ...env, ...extra };
}

export interface TerminalSession {
  /** Everything the terminal showed so far, escape sequences and carriage returns removed. */
  output(): string;
  /** Resolves once the output from `from` on matches `pattern`, with the match; rejects if the program exits first. */
  waitFor(pattern: RegExp, from?: number): Promise<RegExpExecArray>;
  /** Types `text` (a newline ends a line). */
  type(text: string): void;
  readonly exited: Promise<number | null>;
  readonly child: ChildProcess;
}

/**
 * Runs the real binary in a pseudo-terminal (util-linux `script`), so it
 * sees a TTY on stdin and stdout, as a person at a terminal would have it.
 */
export function runInTerminal(args: readonly string[], env: NodeJS.ProcessEnv): TerminalSession {
  const command = [process.execPath, cliBinary, ...args].map(shellQuote).join(" ");
  const child = spawn("script", ["-qfec", command, "/dev/null"], { env: { ...env, COLUMNS: "100", LINES: "40" }, stdio: ["pipe", "pipe", "inherit"] });
  let text = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.stdout!.on("data", (chunk: Buffer) => {
    text += chunk.toString("utf8");
    child.emit("output");
  });
  const output = () => plainText(text);
  return {
    output,
    child,
    exited,
    type: (input) => void child.stdin!.write(input),
    waitFor(pattern, from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(output().slice(from));
          if (!match) return false;
          child.off("output", check);
          resolve(match);
          return true;
        };
        if (check()) return;
        child.on("output", check);
        void exited.then((code) => {
          if (!check()) reject(new Error(`exited with ${code} before ${pattern} appeared; output:\n${output().slice(from)}`));
        });
      });
    },
  };
}

function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** What a person would read: no colour or cursor escapes, no carriage returns. */
export function plainText(text: string): string {
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").replace(/\r/g, "");
}
