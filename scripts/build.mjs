// `npm run build`, run by `npm install` and `npm ci` (prepare): compiles src/ and fixtures/
// into dist/, then stamps dist/ with the time the build started, so a source saved meanwhile
// counts as newer and bin/modelgate.mjs runs the sources instead.
import { spawnSync } from "node:child_process";
import { rmSync, utimesSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { distPaths, installRoot } from "../bin/compiled-entry.mjs";

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
} catch {
  // An install without devDependencies: the sources run through tsx.
  console.error("modelgate: typescript is not installed, so dist/ is not built; the sources will run through tsx");
  process.exit(0);
}
const dist = distPaths();
const started = new Date();
rmSync(dist.directory, { recursive: true, force: true });
const { status } = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: installRoot, stdio: "inherit" });
if (status !== 0) process.exit(status ?? 1);
writeFileSync(dist.stamp, "");
utimesSync(dist.stamp, started, started);
