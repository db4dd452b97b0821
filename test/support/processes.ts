import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { withParentDeathSignal } from "../../src/backends/parent-death-signal.ts";

/**
 * `spawn`, with the child killed by the kernel if this test file's process
 * dies. The test runner kills a file that runs past its timeout, never the
 * file's children, and then waits for every process holding the file's
 * output: a server left running would hold the whole suite forever.
 */
export async function spawnTied(command: string, args: readonly string[], options: SpawnOptions): Promise<ChildProcess> {
  const wrapped = await withParentDeathSignal(command, args);
  return spawn(wrapped.command, wrapped.args, options);
}

/** Every live descendant of `pid`, with its command name, read from /proc. */
export async function descendants(pid: number): Promise<{ pid: number; name: string }[]> {
  const parents = new Map<number, { ppid: number; name: string }>();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split at the last ")".
    const close = stat.lastIndexOf(")");
    if (close < 0) continue;
    const name = stat.slice(stat.indexOf("(") + 1, close);
    const ppid = Number(stat.slice(close + 2).split(" ")[1]);
    parents.set(Number(entry), { ppid, name });
  }
  const found: { pid: number; name: string }[] = [];
  const walk = (parent: number) => {
    for (const [child, { ppid, name }] of parents) {
      if (ppid === parent) {
        found.push({ pid: child, name });
        walk(child);
      }
    }
  };
  walk(pid);
  return found;
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

/** Polls until `pids` have all exited or `timeoutMs` passed; returns the survivors. */
export async function waitForExit(pids: readonly number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  const running = async () => (await Promise.all(pids.map(async (pid) => ((await isProcessRunning(pid)) ? [pid] : [])))).flat();
  let alive = await running();
  while (alive.length && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    alive = await running();
  }
  return alive;
}
