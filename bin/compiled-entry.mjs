// Whether dist/ (built by `npm install`, see scripts/build.mjs) may run in place of the
// TypeScript sources: only when built after every source was last changed. Plain JavaScript,
// since it decides whether anything needs transpiling.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const installRoot = fileURLToPath(new URL("..", import.meta.url));

/** Where the build writes, under an install's root; the one place these paths are spelled. */
export function distPaths(root = installRoot) {
  const directory = join(root, "dist");
  return {
    directory,
    /** Written last by the build, dated when the build started. */
    stamp: join(directory, ".built"),
    /** The compiled src/cli/main.ts. */
    entry: join(directory, "src", "cli", "main.js"),
  };
}

/**
 * The URL of dist/'s entry point when dist/ was built after the last change to
 * the sources (src/, fixtures/'s modules, the tsconfig files), else undefined.
 */
export function compiledEntry(root = installRoot) {
  const dist = distPaths(root);
  const built = modified(dist.stamp);
  if (built === undefined) return undefined;
  const newest = Math.max(
    newestUnder(join(root, "src")),
    // Not the directory itself: generating the demo models changes it, no code.
    newestModule(join(root, "fixtures")),
    ...["tsconfig.json", "tsconfig.build.json"].map((file) => modified(join(root, file)) ?? 0),
  );
  return newest <= built ? pathToFileURL(dist.entry).href : undefined;
}

function modified(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

/** The latest change to a directory, its entries and theirs (a file removed or renamed changes its directory). */
function newestUnder(directory) {
  let newest = modified(directory) ?? 0;
  for (const entry of readdirSync(directory, { recursive: true, withFileTypes: true })) {
    newest = Math.max(newest, modified(join(entry.parentPath, entry.name)) ?? 0);
  }
  return newest;
}

/** The latest change to a directory's own TypeScript modules. */
function newestModule(directory) {
  let newest = 0;
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith(".ts")) newest = Math.max(newest, modified(join(directory, entry.name)) ?? 0);
  }
  return newest;
}
