import { readFile } from "node:fs/promises";
import { ensureLlamaServer } from "../../src/backends/llamacpp/install.ts";

/**
 * The llama-server binary the end-to-end tests run: found or built once
 * (about 10 minutes the first time on 2 cores), then cached. Build progress
 * goes to stderr so a long first run does not look hung.
 */
export async function llamaServerForTests(): Promise<string> {
  const server = await ensureLlamaServer({
    onProgress: ({ stage, percent, message }) => {
      process.stderr.write(`[llama-server ${stage}${percent === undefined ? "" : ` ${percent}%`}] ${message}\n`);
    },
  });
  return server.path;
}

/**
 * True while `pid` runs. A zombie counts as gone: in a container whose init
 * does not reap orphans, a killed engine's child can linger as one.
 */
export async function isProcessRunning(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  // The state follows the parenthesised command name, which may itself hold spaces.
  return stat !== "" && stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
}
