import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";

/** Bytes of every file under `dir` (0 when it does not exist); links are not followed. */
export async function directorySize(dir: string): Promise<number> {
  const entries = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  const sizes = await Promise.all(entries.map((entry) => lstat(join(dir, entry)).then((info) => (info.isFile() ? info.size : 0), () => 0)));
  return sizes.reduce((sum, size) => sum + size, 0);
}
