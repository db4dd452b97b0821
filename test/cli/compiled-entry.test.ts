/**
 * bin/modelgate.mjs runs dist/ only while it is as new as every source: a
 * checkout never built, a source saved or removed after the build, and a
 * changed tsconfig all send it back to the sources (through tsx).
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, it } from "node:test";
import { compiledEntry } from "../../bin/compiled-entry.mjs";

let root: string;
const past = new Date(Date.now() - 60_000);
const later = new Date(Date.now() + 60_000);

async function touch(path: string, time: Date, text = ""): Promise<void> {
  await writeFile(path, text);
  await utimes(path, time, time);
}

/** A checkout whose every file and directory was last changed a minute ago. */
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "modelgate-checkout-"));
  for (const directory of ["src/cli", "fixtures/models"]) await mkdir(join(root, directory), { recursive: true });
  for (const file of ["src/cli/main.ts", "src/other.ts", "fixtures/generate.ts", "tsconfig.json", "tsconfig.build.json"]) await touch(join(root, file), past);
  for (const directory of ["src/cli", "src", "fixtures/models", "fixtures"]) await utimes(join(root, directory), past, past);
});
afterEach(() => rm(root, { recursive: true, force: true }));

async function build(at: Date): Promise<void> {
  await mkdir(join(root, "dist/src/cli"), { recursive: true });
  await touch(join(root, "dist/src/cli/main.js"), at);
  await touch(join(root, "dist/.built"), at);
}

it("runs dist/ when it was built after every source", async () => {
  await build(new Date());
  assert.equal(compiledEntry(root), pathToFileURL(join(root, "dist/src/cli/main.js")).href);
});

it("runs the sources when there is no build", () => {
  assert.equal(compiledEntry(root), undefined);
});

it("runs the sources when a source changed after the build", async () => {
  await build(new Date());
  await touch(join(root, "src/cli/main.ts"), later);
  assert.equal(compiledEntry(root), undefined);
});

it("runs the sources when a source was removed after the build", async () => {
  await build(new Date());
  await rm(join(root, "src/other.ts"));
  await utimes(join(root, "src"), later, later); // what the removal does, dated past the build
  assert.equal(compiledEntry(root), undefined);
});

it("runs the sources when a fixtures module or a tsconfig changed after the build", async () => {
  await build(new Date());
  await touch(join(root, "fixtures/generate.ts"), later);
  assert.equal(compiledEntry(root), undefined);
  await touch(join(root, "fixtures/generate.ts"), past);
  await touch(join(root, "tsconfig.build.json"), later);
  assert.equal(compiledEntry(root), undefined);
});

it("still runs dist/ when only the demo models were generated after the build", async () => {
  await build(new Date());
  await touch(join(root, "fixtures/models/chat.gguf"), later);
  await utimes(join(root, "fixtures/models"), later, later);
  await utimes(join(root, "fixtures"), later, later);
  assert.notEqual(compiledEntry(root), undefined);
});
