import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Where modelgate is installed: the directory of its package.json, found
 * upward from this module, so the answer is the same whether the sources run
 * (`src/`) or their build (`dist/src/`). Files that are not code (package.json,
 * the demo models, CMake projects) live there, never in `dist/`.
 */
export const installDirectory: string = packageDirectory(dirname(fileURLToPath(import.meta.url)));

function packageDirectory(from: string): string {
  for (let directory = from; ; directory = dirname(directory)) {
    if (existsSync(join(directory, "package.json"))) return directory;
    if (dirname(directory) === directory) throw new Error(`no package.json above ${from}`);
  }
}
