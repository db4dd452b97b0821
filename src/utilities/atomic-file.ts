import { randomUUID } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";

/**
 * Writes `data` to `path` so that readers (and a crash) see the old file or
 * the new one, never a part: a scratch file in `tmpDir`, fsync'd, renamed
 * over `path`, then the directory fsync'd so the rename itself is durable.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, tmpDir: string): Promise<void> {
  const scratch = join(tmpDir, `${randomUUID()}.tmp`);
  const file = await open(scratch, "w");
  try {
    await file.writeFile(data);
    await file.sync();
  } finally {
    await file.close();
  }
  await moveIntoPlace(scratch, path);
}

/** Renames a complete, fsync'd file into place and makes the rename durable; removes the scratch file on failure. */
export async function moveIntoPlace(scratch: string, path: string): Promise<void> {
  try {
    await rename(scratch, path);
  } catch (error) {
    await rm(scratch, { force: true });
    throw error;
  }
  await syncDirectory(dirname(path));
}

export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
