import { randomUUID } from "node:crypto";
import { open, readFile, rename, unlink, link } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";

export interface FileLockOptions {
  readonly signal?: AbortSignal;
  /** Called once when the lock is held by another live process, with its pid. */
  readonly onWait?: (holderPid: number) => void;
  /** How often to look again while waiting. */
  readonly pollMs?: number;
}

/**
 * Runs `task` while holding an exclusive lock file shared by every process on
 * the machine. The file holds the holder's pid; a lock whose pid is dead (a
 * crashed build) is broken, so nobody waits forever.
 */
export async function withFileLock<T>(path: string, task: () => Promise<T>, options: FileLockOptions = {}): Promise<T> {
  const token = `${process.pid} ${randomUUID()}`;
  await acquire(path, token, options);
  try {
    return await task();
  } finally {
    await releaseIfOurs(path, token);
  }
}

async function acquire(path: string, token: string, options: FileLockOptions): Promise<void> {
  let reportedHolder: number | undefined;
  for (;;) {
    options.signal?.throwIfAborted();
    const holder = await takeOrFindHolder(path, token);
    if (holder === undefined) return;
    if (reportedHolder !== holder) {
      reportedHolder = holder;
      options.onWait?.(holder);
    }
    // An aborted sleep rejects with a generic AbortError; the caller's reason is more useful.
    await sleep(options.pollMs ?? 250, undefined, { signal: options.signal }).catch(() => options.signal?.throwIfAborted());
  }
}

/** A lock held until released or until the process ends. */
export interface HeldFileLock {
  /** Removes the lock file if it is still ours. */
  release(): Promise<void>;
}

/**
 * Takes the lock at `path` for as long as the process needs it, without
 * waiting: resolves with the live holder's pid when another process has it.
 * For locks a process takes once (a data directory's): a lock naming this
 * very pid was left by an earlier process that had it (a restarted
 * container), and is broken like any stale lock.
 */
export async function tryFileLock(path: string): Promise<HeldFileLock | { readonly heldBy: number }> {
  const token = `${process.pid} ${randomUUID()}`;
  const holder = await takeOrFindHolder(path, token, { ownPidIsStale: true });
  return holder === undefined ? { release: () => releaseIfOurs(path, token) } : { heldBy: holder };
}

/** Takes the lock (breaking a stale one), or returns the pid of the live process holding it. */
async function takeOrFindHolder(path: string, token: string, { ownPidIsStale = false } = {}): Promise<number | undefined> {
  for (;;) {
    if (await tryCreate(path, token)) return undefined;
    const holder = await readHolder(path);
    if (holder === undefined) continue; // released (or half-written) in between: try again at once
    if (!isAlive(holder.pid) || (ownPidIsStale && holder.pid === process.pid)) {
      await breakStaleLock(path, holder.content);
      continue;
    }
    return holder.pid;
  }
}

async function tryCreate(path: string, token: string): Promise<boolean> {
  // Written to a private file first, then linked into place: `link` fails if
  // the lock exists, and nobody ever sees a lock file without its pid.
  const draft = `${path}.${randomUUID()}`;
  const file = await open(draft, "wx");
  try {
    await file.writeFile(token);
  } finally {
    await file.close();
  }
  try {
    await link(draft, path);
    return true;
  } catch (error) {
    if (errorCode(error) === "EEXIST") return false;
    throw error;
  } finally {
    await unlink(draft);
  }
}

async function readHolder(path: string): Promise<{ pid: number; content: string } | undefined> {
  try {
    const content = await readFile(path, "utf8");
    const pid = Number.parseInt(content, 10);
    return Number.isSafeInteger(pid) && pid > 0 ? { pid, content } : undefined;
  } catch (error) {
    if (errorCode(error) === "ENOENT") return undefined;
    throw error;
  }
}

/**
 * Moves the stale lock aside atomically, so of several processes breaking it
 * at once only one succeeds; if what it moved turns out to be a fresh lock
 * taken in between, it is put back.
 */
async function breakStaleLock(path: string, staleContent: string): Promise<void> {
  const aside = `${path}.stale.${randomUUID()}`;
  try {
    await rename(path, aside);
  } catch (error) {
    if (errorCode(error) === "ENOENT") return;
    throw error;
  }
  const moved = await readFile(aside, "utf8");
  if (moved !== staleContent) await link(aside, path).catch(() => undefined);
  await unlink(aside);
}

async function releaseIfOurs(path: string, token: string): Promise<void> {
  const holder = await readFile(path, "utf8").catch(() => undefined);
  if (holder === token) await unlink(path);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === "EPERM"; // exists, owned by another user
  }
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}
