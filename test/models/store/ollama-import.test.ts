import assert from "node:assert/strict";
import { link, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ensureFixtureModels } from "../../../fixtures/generate.ts";
import { readGGUF } from "../../../src/models/gguf.ts";
import { sha256Digest } from "../../../src/models/store/digest.ts";
import { encodeManifest } from "../../../src/models/store/manifest.ts";
import { mediaTypes } from "../../../src/models/store/media-types.ts";
import { openModelStore } from "../../../src/models/store/model-store.ts";
import { importOllama } from "../../../src/models/store/ollama-import.ts";

const dirs: string[] = [];
after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

async function temp(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** An Ollama models directory: `blobs/sha256-<hex>` and `manifests/<registry>/<namespace>/<model>/<tag>`. */
async function ollamaDir(weights: string): Promise<{ dir: string; manifestDigest: string; weightsDigest: string }> {
  const dir = await temp("modelgate-ollama-");
  await mkdir(join(dir, "blobs"), { recursive: true });
  const blob = async (mediaType: string, bytes: Buffer, path?: string) => {
    const digest = sha256Digest(bytes);
    const target = join(dir, "blobs", `sha256-${digest.slice(7)}`);
    if (path) await link(path, target);
    else await writeFile(target, bytes);
    return { mediaType, digest, size: bytes.byteLength };
  };
  const model = await blob(mediaTypes.ollamaModel, await readFile(weights), weights);
  const template = await blob(mediaTypes.ollamaTemplate, Buffer.from("{{ .Prompt }}"));
  const config = await blob(mediaTypes.ollamaConfig, Buffer.from('{"model_format":"gguf","model_family":"bert","file_type":"F16"}'));
  const manifest = encodeManifest({ schemaVersion: 2, mediaType: mediaTypes.dockerManifest, config, layers: [model, template] });
  const write = async (path: string[], bytes: Uint8Array) => {
    await mkdir(join(dir, "manifests", ...path.slice(0, -1)), { recursive: true });
    await writeFile(join(dir, "manifests", ...path), bytes);
  };
  await write(["registry.ollama.ai", "library", "tiny-embed", "latest"], manifest.bytes);
  await write(["hf.co", "org", "repo", "Q4_K_M"], manifest.bytes);
  await write(["registry.ollama.ai", "library", "broken", "latest"], Buffer.from("{not json"));
  return { dir, manifestDigest: manifest.digest, weightsDigest: model.digest };
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
