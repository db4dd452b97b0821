import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ensureFixtureModels } from "../../../fixtures/generate.ts";
import { readGGUF } from "../../../src/models/gguf.ts";
import { openModelStore } from "../../../src/models/store/model-store.ts";
import { importOllama } from "../../../src/models/store/ollama-import.ts";
import { writeOllamaModelsDir, type OllamaModelsDir } from "../support/ollama-models-dir.ts";

const dirs: string[] = [];
after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

async function temp(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** An Ollama models directory holding the embedding fixture as `tiny-embed`. */
async function ollamaDir(weights: string): Promise<{ dir: string } & OllamaModelsDir> {
  const dir = await temp("modelgate-ollama-");
  return { dir, ...(await writeOllamaModelsDir(dir, { weights, model: "tiny-embed", family: "bert" })) };
}

describe("importOllama", () => {
  it("links Ollama's blobs in, keeps its manifest digest as the ID, and names library models bare", async () => {
    const fixtures = await ensureFixtureModels();
    const { dir, manifestDigest, weightsDigest } = await ollamaDir(fixtures.embedding);
    const store = await openModelStore({ home: await temp("modelgate-home-") });
    const result = await importOllama(store, dir);

    assert.deepEqual(result.imported.map((model) => model.id), [manifestDigest, manifestDigest]);
    assert.deepEqual(result.skipped.map((item) => item.name), ["registry.ollama.ai/library/broken/latest"]);
    assert.deepEqual((await store.list()).map((model) => model.name).sort(), ["huggingface.co/org/repo:Q4_K_M", "tiny-embed:latest"]);

    const resolved = await store.resolve("tiny-embed");
    assert.equal(resolved.id, manifestDigest);
    await readGGUF(resolved.paths[0]);
    const [source, imported] = await Promise.all([stat(join(dir, "blobs", `sha256-${weightsDigest.slice(7)}`)), stat(resolved.paths[0])]);
    assert.equal(imported.ino, source.ino, "hard-linked, not copied");
  });

  it("skips a model whose blob does not match its digest", async () => {
    const fixtures = await ensureFixtureModels();
    const { dir, weightsDigest } = await ollamaDir(fixtures.embedding);
    const blob = join(dir, "blobs", `sha256-${weightsDigest.slice(7)}`);
    const bytes = await readFile(blob);
    await rm(blob);
    bytes.writeUInt8(bytes.readUInt8(100) ^ 0xff, 100);
    await writeFile(blob, bytes);
    const store = await openModelStore({ home: await temp("modelgate-home-") });
    const result = await importOllama(store, dir);
    assert.equal(result.imported.length, 0);
    assert.ok(result.skipped.some((item) => /digest mismatch/.test(item.reason)));
    assert.deepEqual(await store.models(), []);
  });

  it("an absent directory imports nothing", async () => {
    const store = await openModelStore({ home: await temp("modelgate-home-") });
    assert.deepEqual(await importOllama(store, join(tmpdir(), "no-such-ollama-dir")), { imported: [], skipped: [] });
  });
});
