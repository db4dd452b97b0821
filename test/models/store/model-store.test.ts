import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { before, describe, it } from "node:test";
import { ensureFixtureModels, type FixtureModels } from "../../../fixtures/generate.ts";
import { GGUFParseError } from "../../../src/inference/gguf-parse-error.ts";
import { readGGUF } from "../../../src/models/gguf.ts";
import { ModelNotFoundError } from "../../../src/models/model-resolver.ts";
import { InvalidReferenceError, parseNamedReference } from "../../../src/models/reference.ts";
import { BlobSizeMismatchError } from "../../../src/models/store/blob-writer.ts";
import { registerDemoModels } from "../../../src/models/store/demo-models.ts";
import { DigestMismatchError, sha256Digest } from "../../../src/models/store/digest.ts";
import { importGGUF } from "../../../src/models/store/gguf-import.ts";
import { openModelStore } from "../../../src/models/store/model-store.ts";
import { useTemporaryStores } from "../support/temporary-stores.ts";

let fixtures: FixtureModels;
before(async () => {
  fixtures = await ensureFixtureModels();
});
const freshStore = useTemporaryStores("modelgate-store-");

const tag = (name: string) => parseNamedReference(name);

async function fileDigest(path: string): Promise<string> {
  return sha256Digest(await readFile(path));
}

describe("model store: import and resolve", () => {
  it("imports a GGUF file as a content-addressed blob and resolves it by name, ID and short ID", async () => {
    const store = await freshStore();
    const model = await importGGUF(store, fixtures.embedding, { tags: [tag("emb")] });
    const digest = await fileDigest(fixtures.embedding);
    assert.equal(model.parts.weights[0].digest, digest);
    assert.equal(model.facts.format, "gguf");
    assert.equal(model.facts.architecture, "bert");

    const resolved = await store.resolve("emb");
    assert.equal(resolved.name, "emb:latest");
    assert.equal(resolved.id, model.id);
    assert.equal(resolved.paths[0], join(store.layout.blobsDir, digest.slice(7)));
    assert.equal(resolved.summary.architecture, "bert");
    assert.equal(resolved.size, (await stat(fixtures.embedding)).size);
    await readGGUF(resolved.paths[0]);

    assert.equal((await store.resolve("library/emb:latest")).id, model.id);
    assert.equal((await store.resolve(model.id)).name, "emb:latest");
    assert.equal((await store.resolve(model.id.slice(7, 19))).id, model.id);
    assert.equal((await store.resolve(model.id.slice(7))).id, model.id);
  });

  it("copies by default, so the store never shares bytes with a user's file", async () => {
    const store = await freshStore();
    const model = await importGGUF(store, fixtures.embedding, { tags: [tag("emb")] });
    const [source, blob] = await Promise.all([stat(fixtures.embedding), stat(store.blobPath(model.parts.weights[0].digest))]);
    assert.notEqual(source.ino, blob.ino);
  });

  it("the same file imported twice is one model with two tags", async () => {
    const store = await freshStore();
    const first = await importGGUF(store, fixtures.embedding, { tags: [tag("a")] });
    const second = await importGGUF(store, fixtures.embedding, { tags: [tag("b")] });
    assert.equal(first.id, second.id);
    assert.deepEqual((await store.find("a")).tags.map(String), ["a:latest", "b:latest"]);
    assert.deepEqual((await store.list()).map((model) => model.name).sort(), ["a:latest", "b:latest"]);
  });

  it("refuses a file that is not GGUF with the parser's reason and stores nothing", async () => {
    const store = await freshStore();
    const bad = join(store.layout.root, "..", "bad.gguf"); // in the temporary home, outside the store
    await writeFile(bad, "this is not a model at all, only words");
    await assert.rejects(importGGUF(store, bad, { tags: [tag("bad")] }), (error: unknown) => {
      assert.ok(error instanceof GGUFParseError);
      assert.match(error.message, /GGUF parse error/);
      return true;
    });
    assert.deepEqual(await readdir(store.layout.blobsDir), []);
    assert.deepEqual(await store.models(), []);
    await assert.rejects(store.resolve("bad"), ModelNotFoundError);
  });

  it("answers unknown names with ModelNotFoundError and bad ones with InvalidReferenceError", async () => {
    const store = await freshStore();
    await assert.rejects(store.resolve("nothing"), ModelNotFoundError);
    await assert.rejects(store.resolve("../../etc/passwd"), InvalidReferenceError);
    await assert.rejects(store.resolve(`sha256:${"0".repeat(64)}`), ModelNotFoundError);
  });
});

describe("model store: tags and deletion", () => {
  it("moving a tag away from a model removes the model once it has none", async () => {
    const store = await freshStore();
    const emb = await importGGUF(store, fixtures.embedding, { tags: [tag("x")] });
    const chat = await importGGUF(store, fixtures.chat, { tags: [tag("y")] });
    await store.tag("y", tag("x"));
    assert.equal((await store.resolve("x")).id, chat.id);
    assert.equal((await store.models()).length, 1);
    assert.equal(await store.hasBlob(emb.parts.weights[0].digest), false);
  });

  it("a name resolved before a change resolves as the changed index says, not as it did", async () => {
    const store = await freshStore();
    const emb = await importGGUF(store, fixtures.embedding, { tags: [tag("x")] });
    const chat = await importGGUF(store, fixtures.chat, { tags: [tag("y")] });
    assert.equal((await store.resolve("x")).id, emb.id);
    assert.equal((await store.resolve("x")).id, emb.id);
    await store.tag("y", tag("x"));
    assert.equal((await store.resolve("x")).id, chat.id);
    await store.remove("x");
    await assert.rejects(store.resolve("x"), ModelNotFoundError);
    assert.equal((await store.resolve("y")).id, chat.id);
  });

  it("deleting a tag keeps the model while another tag names it; the last one removes it and its blobs", async () => {
    const store = await freshStore();
    const model = await importGGUF(store, fixtures.embedding, { tags: [tag("one"), tag("two")] });
    const blob = model.parts.weights[0].digest;
    await store.remove("one");
    assert.equal((await store.resolve("two")).id, model.id);
    assert.equal(await store.hasBlob(blob), true);
    await store.remove("two");
    assert.equal(await store.hasBlob(blob), false);
    await assert.rejects(readFile(store.layout.manifest(model.id)), { code: "ENOENT" });
    assert.deepEqual(await store.models(), []);
  });

  it("keeps blobs another model still uses (refcount)", async () => {
    const store = await freshStore();
    const plain = await importGGUF(store, fixtures.embedding, { tags: [tag("plain")] });
    const withSystem = await importGGUF(store, fixtures.embedding, { tags: [tag("sys")], extras: { system: "Be brief." } });
    assert.notEqual(plain.id, withSystem.id);
    const weights = plain.parts.weights[0].digest;
    assert.equal(withSystem.parts.weights[0].digest, weights);

    await store.remove("plain");
    assert.equal(await store.hasBlob(weights), true);
    await readGGUF((await store.resolve("sys")).paths[0]);
    await store.remove(withSystem.id);
    assert.equal(await store.hasBlob(weights), false);
  });

  it("another process's changes are seen at the next resolve, though the index is kept in memory", async () => {
    const store = await freshStore();
    const other = await openModelStore({ home: dirname(store.layout.root) }); // as a second process would
    const model = await importGGUF(store, fixtures.embedding, { tags: [tag("x")] });
    assert.equal((await other.resolve("x")).id, model.id);
    await store.tag("x", tag("y"));
    assert.equal((await other.resolve("y")).id, model.id);
    await other.remove("x");
    await assert.rejects(store.resolve("x"), ModelNotFoundError);
    assert.equal((await store.resolve("y")).id, model.id);
  });

  it("deleting an unknown model is ModelNotFoundError", async () => {
    const store = await freshStore();
    await assert.rejects(store.remove("ghost"), ModelNotFoundError);
  });
});

describe("model store: crash safety", () => {
  it("a blob that does not match its digest is discarded, and nothing is listed", async () => {
    const store = await freshStore();
    const bytes = Buffer.from("hello");
    await assert.rejects(
      store.receiveBlob(async () => ({ offset: 0, body: [bytes] }), { expected: { digest: sha256Digest("other") } }),
      DigestMismatchError,
    );
    assert.deepEqual(await readdir(store.layout.blobsDir), []);
    assert.deepEqual(await readdir(store.layout.tmpDir), []);
  });

  it("more bytes than announced stop the write", async () => {
    const store = await freshStore();
    const bytes = Buffer.from("hello world");
    await assert.rejects(
      store.receiveBlob(async () => ({ offset: 0, body: [bytes] }), { expected: { digest: sha256Digest(bytes), size: 5 } }),
      BlobSizeMismatchError,
    );
  });

  it("an interrupted resumable download stays as .incomplete and is resumed from its length", async () => {
    const store = await freshStore();
    const bytes = await readFile(fixtures.embedding);
    const digest = sha256Digest(bytes);
    const half = Math.floor(bytes.byteLength / 2);
    const offsets: number[] = [];
    const failing = async function* () {
      yield bytes.subarray(0, half);
      throw Object.assign(new Error("connection reset"), { code: "ECONNRESET" });
    };
    await assert.rejects(
      store.receiveBlob(
        async (offset) => {
          offsets.push(offset);
          return { offset, body: failing() };
        },
        { expected: { digest, size: bytes.byteLength }, resumable: true },
      ),
      /connection reset/,
    );
    assert.equal((await stat(store.layout.incomplete(digest))).size, half);
    assert.equal(await store.hasBlob(digest), false);

    await store.receiveBlob(
      async (offset) => {
        offsets.push(offset);
        return { offset, body: [bytes.subarray(offset)] };
      },
      { expected: { digest, size: bytes.byteLength }, resumable: true },
    );
    assert.deepEqual(offsets, [0, half]);
    assert.equal(await store.hasBlob(digest, bytes.byteLength), true);
    await assert.rejects(stat(store.layout.incomplete(digest)), { code: "ENOENT" });
  });

  it("a resumed download whose first part was wrong is discarded whole", async () => {
    const store = await freshStore();
    const bytes = Buffer.from("0123456789abcdef");
    const digest = sha256Digest(bytes);
    await writeFile(store.layout.incomplete(digest), "XXXXXXXX"); // garbage where the first half should be
    await assert.rejects(
      store.receiveBlob(async (offset) => ({ offset, body: [bytes.subarray(offset)] }), { expected: { digest, size: 16 }, resumable: true }),
      DigestMismatchError,
    );
    await assert.rejects(stat(store.layout.incomplete(digest)), { code: "ENOENT" });
    // and the next attempt starts over and succeeds
    await store.receiveBlob(async (offset) => ({ offset, body: [bytes.subarray(offset)] }), { expected: { digest, size: 16 }, resumable: true });
    assert.equal(await store.hasBlob(digest), true);
  });

  it("a source that cannot skip restarts the partial file from zero", async () => {
    const store = await freshStore();
    const bytes = Buffer.from("0123456789abcdef");
    const digest = sha256Digest(bytes);
    await writeFile(store.layout.incomplete(digest), "01234567");
    await store.receiveBlob(async () => ({ offset: 0, body: [bytes] }), { expected: { digest, size: 16 }, resumable: true });
    assert.deepEqual(await readFile(store.blobPath(digest)), bytes);
  });

  it("a model whose blobs are missing is never listed: commit checks them under the index lock", async () => {
    const store = await freshStore();
    const model = await importGGUF(store, fixtures.embedding, { tags: [tag("a")] });
    await store.remove("a");
    await assert.rejects(store.commit(model.manifest, [tag("b")]));
    assert.deepEqual(await store.models(), []);
  });

  it("the index is replaced atomically: a stale scratch file does not disturb it", async () => {
    const store = await freshStore();
    await importGGUF(store, fixtures.embedding, { tags: [tag("a")] });
    await writeFile(join(store.layout.tmpDir, "crashed.tmp"), '{"version":1,"models":[');
    const reopened = await openModelStore({ home: join(store.layout.root, "..") });
    assert.deepEqual((await reopened.list()).map((model) => model.name), ["a:latest"]);
  });

  it("concurrent imports and tags all land in the index", async () => {
    const store = await freshStore();
    await Promise.all(
      Array.from({ length: 8 }, (_, i) => importGGUF(store, fixtures.embedding, { tags: [tag(`m${i}`)], extras: { system: `s${i}` } })),
    );
    assert.equal((await store.list()).length, 8);
  });

  it("concurrent receives of one blob share one download", async () => {
    const store = await freshStore();
    const bytes = await readFile(fixtures.embedding);
    const digest = sha256Digest(bytes);
    let opens = 0;
    const open = async (offset: number) => {
      opens += 1;
      await new Promise((resolve) => setTimeout(resolve, 20));
      return { offset, body: [bytes.subarray(offset)] };
    };
    await Promise.all(Array.from({ length: 4 }, () => store.receiveBlob(open, { expected: { digest, size: bytes.byteLength }, resumable: true })));
    assert.equal(opens, 1);
  });
});

describe("demo models", () => {
  it("registers tiny, tiny-embed, tiny-draft and tiny-tools, hard-linked, once", async () => {
    const store = await freshStore();
    await registerDemoModels(store, fixtures);
    const names = (await store.list()).map((model) => model.name).sort();
    assert.deepEqual(names, ["tiny-draft:latest", "tiny-embed:latest", "tiny-tools:latest", "tiny:latest"]);
    const tiny = await store.resolve("tiny");
    assert.equal(tiny.summary.architecture, "llama");
    assert.equal((await stat(tiny.paths[0])).ino, (await stat(fixtures.chat)).ino);
    assert.equal(createHash("sha256").update(await readFile(tiny.paths[0])).digest("hex"), tiny.paths[0].split("/").at(-1));

    const before = (await store.models()).map((model) => model.id);
    await registerDemoModels(store, fixtures);
    assert.deepEqual((await store.models()).map((model) => model.id), before);
  });
});
