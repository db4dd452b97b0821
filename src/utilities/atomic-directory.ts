import { mkdir, mkdtemp, readdir, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { withFileLock } from "./file-lock.ts";

export interface EnsureDirectoryOptions {
  readonly signal?: AbortSignal;
  /** Called when another process holds the lock and we wait for it. */
  readonly onWait?: (holderPid: number) => void;
}

/**
 * Makes `destination` exist, produced at most once across processes.
 * `produce` works in a fresh scratch directory beside it and returns the path
 * (inside that scratch directory) to rename into place, so a crash or an
 * abort never leaves anything under the final name; scratch directories of
 * crashed processes are swept the next time.
 */
export async function ensureDirectory(
  destination: string,
  produce: (scratch: string) => Promise<string>,
  options: EnsureDirectoryOptions = {},
): Promise<void> {
  if (await exists(destination)) return;
  const parent = dirname(destination);
  const scratchPrefix = `.${basename(destination)}-scratch-`;
  await mkdir(parent, { recursive: true });
  await withFileLock(
    `${destination}.lock`,
    async () => {
      if (await exists(destination)) return; // another process made it while we waited
      await removeEntries(parent, scratchPrefix);
      const scratch = await mkdtemp(join(parent, scratchPrefix));
      try {
        await rename(await produce(scratch), destination);
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
    },
    options,
  );
}

export async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function removeEntries(dir: string, prefix: string): Promise<void> {
  const names = (await readdir(dir)).filter((name) => name.startsWith(prefix));
  await Promise.all(names.map((name) => rm(join(dir, name), { recursive: true, force: true })));
}
