import { readdir, readFile } from "node:fs/promises";

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

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls until `pids` have all exited or `timeoutMs` passed; returns the survivors. */
export async function waitForExit(pids: readonly number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let alive = pids.filter(isAlive);
  while (alive.length && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    alive = alive.filter(isAlive);
  }
  return alive;
}
