import { randomUUID } from "node:crypto";
import { lstat, rename, unlink } from "node:fs/promises";

/**
 * Makes way for a Unix socket at `path` without following links: a socket,
 * file or symbolic link there is deleted (the link, never its target); a
 * directory, whose contents are not ours to delete, is renamed beside it.
 * Resolves with that new name, or undefined when nothing was moved.
 *
 * @throws Error with the file system's code when the path cannot be cleared
 */
export async function clearSocketPath(path: string): Promise<string | undefined> {
  try {
    if (!(await lstat(path)).isDirectory()) {
      await unlink(path);
      return undefined;
    }
    const aside = `${path}.moved-${randomUUID().slice(0, 8)}`;
    await rename(path, aside);
    return aside;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined; // gone already
    throw error;
  }
}
