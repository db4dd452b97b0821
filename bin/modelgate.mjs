#!/usr/bin/env node
// Runs dist/, the JavaScript `npm install` compiled (`npm run build`), when it is newer than
// every source; otherwise the TypeScript sources through tsx, which costs about 50 MiB more
// and a slower start, but never runs stale code (a checkout without a build, an edited file).
import { compiledEntry } from "./compiled-entry.mjs";

const compiled = compiledEntry();
if (compiled) {
  await import(compiled);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/cli/main.ts");
}
