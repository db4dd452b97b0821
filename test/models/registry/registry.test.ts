/**
 * Pull and push against a real registry (distribution 2.8, Debian's
 * `docker-registry`), open, behind Basic auth and behind token auth.
 */
import assert from "node:assert/strict";
import { readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { ensureFixtureModels, type FixtureModels } from "../../../fixtures/generate.ts";
import { readGGUF } from "../../../src/models/gguf.ts";
import { ModelNotFoundError } from "../../../src/models/model-resolver.ts";
import { parseNamedReference } from "../../../src/models/reference.ts";
import { RegistryAuthError } from "../../../src/models/registry/registry-auth.ts";
import { createRegistryClient, RegistryError } from "../../../src/models/registry/registry-client.ts";
import { pullFromRegistry } from "../../../src/models/registry/registry-pull.ts";
import { pushToRegistry } from "../../../src/models/registry/registry-push.ts";
import { DigestMismatchError, sha256Digest } from "../../../src/models/store/digest.ts";
import { importGGUF } from "../../../src/models/store/gguf-import.ts";
import { encodeManifest, type Descriptor } from "../../../src/models/store/manifest.ts";
import { mediaTypes } from "../../../src/models/store/media-types.ts";
import { createModelDistribution } from "../../../src/models/store/model-distribution.ts";
import { useTemporaryStores } from "../support/temporary-stores.ts";
import type { Progress } from "../../../src/models/store/progress.ts";
import { registryCredentials, startCuttingProxy, startRegistry, type TestRegistry } from "../../support/registry.ts";

const credentials = () => registryCredentials;

let fixtures: FixtureModels;
before(async () => {
  fixtures = await ensureFixtureModels();
});
const freshStore = useTemporaryStores("modelgate-registry-store-");

for (const auth of ["none", "basic", "token"] as const) {
  describe(`registry round trip (${auth} auth)`, () => {
    let registry: TestRegistry;
    before(async () => {
      registry = await startRegistry({ auth });
    });
    after(() => registry.stop());

    it("pushes a model, forgets it, pulls it back with the same ID, and it loads", async () => {
      const store = await freshStore();
      const client = createRegistryClient({ credentials });
      const reference = parseNamedReference(`${registry.host}/test/tiny:v1`);
      const original = await importGGUF(store, fixtures.chat, { tags: [reference], extras: { licenses: ["MIT"] } });

      const pushed: Progress[] = [];
      await pushToRegistry(store, client, reference, { onProgress: (event) => pushed.push(event) });
      assert.equal(pushed.at(-1)?.status, "pushing manifest");
      const weights = original.parts.weights[0];
      assert.ok(pushed.some((event) => event.digest === weights.digest && event.completed === weights.size));

      await store.remove(reference);
      await assert.rejects(store.resolve(String(reference)), ModelNotFoundError);

      const pulled: Progress[] = [];
      const model = await pullFromRegistry(store, client, reference, { onProgress: (event) => pulled.push(event) });
      assert.equal(model.id, original.id);
      assert.deepEqual(
        pulled.filter((event) => !event.digest).map((event) => event.status),
        ["pulling manifest", "verifying sha256 digest", "writing manifest"],
      );
      const resolved = await store.resolve(String(reference));
      const gguf = await readGGUF(resolved.paths[0]);
      assert.equal(gguf.fileSize, weights.size);
      assert.equal(sha256Digest(await readFile(resolved.paths[0])), weights.digest);
      if (auth === "token") assert.ok(registry.tokenRequests.length > 0);
    });

    it("a second push finds every blob present and sends only the manifest", async () => {
      const store = await freshStore();
      const client = createRegistryClient({ credentials });
      const reference = parseNamedReference(`${registry.host}/test/emb:v1`);
      await importGGUF(store, fixtures.embedding, { tags: [reference] });
      await pushToRegistry(store, client, reference);
      const events: Progress[] = [];
      await pushToRegistry(store, client, reference, { onProgress: (event) => events.push(event) });
      // Present blobs report done at once, with no partial counts.
      assert.ok(events.filter((event) => event.digest).every((event) => event.completed === event.total));
    });

    it("an unknown tag is a 404", async () => {
      const store = await freshStore();
      const client = createRegistryClient({ credentials });
      await assert.rejects(
        pullFromRegistry(store, client, parseNamedReference(`${registry.host}/test/missing:nope`)),
        (error: unknown) => error instanceof RegistryError && error.status === 404,
      );
    });

    if (auth !== "none") {
      it("without credentials the registry refuses", async () => {
        const store = await freshStore();
        await assert.rejects(pullFromRegistry(store, createRegistryClient(), parseNamedReference(`${registry.host}/test/tiny:v1`)), RegistryAuthError);
      });

      it("with wrong credentials the registry refuses", async () => {
        const store = await freshStore();
        const client = createRegistryClient({ credentials: () => ({ username: "modelgate", password: "wrong" }) });
        await assert.rejects(pullFromRegistry(store, client, parseNamedReference(`${registry.host}/test/tiny:v1`)), RegistryAuthError);
      });
    }
  });
}

describe("registry: artifact formats, interruptions, corruption, sharing", () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry();
  });
  after(() => registry.stop());

  it("pulls Ollama's format (schema 2 manifest, ollama layers) and keeps its template, system and params", async () => {
    const client = createRegistryClient();
    const reference = parseNamedReference(`${registry.host}/library/ollama-style:latest`);
    const target = { reference, push: true };
    const upload = async (mediaType: string, bytes: Uint8Array): Promise<Descriptor> => {
      const digest = sha256Digest(bytes);
      await client.uploadBlob(target, digest, bytes.byteLength, () => Readable.from([bytes]));
      return { mediaType, digest, size: bytes.byteLength };
    };
    const text = (value: string) => new TextEncoder().encode(value);
    const weights = await upload(mediaTypes.ollamaModel, await readFile(fixtures.embedding));
    const layers = [
      weights,
      await upload(mediaTypes.ollamaTemplate, text("{{ .Prompt }}")),
      await upload(mediaTypes.ollamaSystem, text("You are terse.")),
      await upload(mediaTypes.ollamaParams, text('{"temperature":0.2,"stop":["</s>"]}')),
      await upload(mediaTypes.ollamaLicense, text("Apache-2.0")),
    ];
    const config = await upload(
      mediaTypes.ollamaConfig,
      text(JSON.stringify({ model_format: "gguf", model_family: "bert", model_type: "2M", file_type: "F16", rootfs: { type: "layers", diff_ids: [] } })),
    );
    const manifest = encodeManifest({ schemaVersion: 2, mediaType: mediaTypes.dockerManifest, config, layers });
    await client.putManifest(target, manifest);

    const store = await freshStore();
    const model = await pullFromRegistry(store, client, reference);
    assert.equal(model.id, manifest.digest);
    assert.equal(model.facts.architecture, "bert");
    assert.equal(model.facts.quantization, "F16");
    assert.equal(model.parts.template?.mediaType, mediaTypes.ollamaTemplate);
    assert.equal(new TextDecoder().decode(await store.readBlob(model.parts.system!)), "You are terse.");
    assert.equal(model.parts.licenses.length, 1);
    const resolved = await store.resolve(String(reference));
    assert.equal(resolved.paths[0], store.blobPath(weights.digest));
    await readGGUF(resolved.paths[0]);

    // pushed again elsewhere, byte for byte: the same ID
    const copy = parseNamedReference(`${registry.host}/library/ollama-copy:latest`);
    await store.tag(reference, copy);
    await pushToRegistry(store, client, copy);
    assert.equal((await client.getManifest({ reference: copy })).digest, manifest.digest);
  });

  it("refuses a manifest without GGUF weights before downloading anything", async () => {
    const client = createRegistryClient();
    const reference = parseNamedReference(`${registry.host}/test/not-a-model:latest`);
    const bytes = new TextEncoder().encode("{}");
    const digest = sha256Digest(bytes);
    await client.uploadBlob({ reference, push: true }, digest, bytes.byteLength, () => Readable.from([bytes]));
    const config = { mediaType: "application/vnd.oci.image.config.v1+json", digest, size: bytes.byteLength };
    await client.putManifest({ reference, push: true }, encodeManifest({ schemaVersion: 2, mediaType: mediaTypes.ociManifest, config, layers: [] }));
    const store = await freshStore();
    await assert.rejects(pullFromRegistry(store, client, reference), /no GGUF layer/);
    assert.deepEqual(await readdir(store.layout.blobsDir), []);
  });

  it("resumes with a Range request when the connection is cut mid-blob", async () => {
    const client = createRegistryClient();
    const reference = parseNamedReference(`${registry.host}/test/resume:v1`);
    const source = await freshStore();
    const model = await importGGUF(source, fixtures.chat, { tags: [reference] });
    await pushToRegistry(source, client, reference);

    const proxy = await startCuttingProxy(registry.host);
    try {
      const viaProxy = parseNamedReference(`${proxy.host}/test/resume:v1`);
      proxy.cutNextResponseAfter(8 * 1024 * 1024);
      const store = await freshStore();
      const pulled = await pullFromRegistry(store, client, viaProxy);
      assert.equal(pulled.id, model.id);
      const weights = model.parts.weights[0].digest;
      const gets = proxy.requests.filter((request) => request.line.startsWith(`GET /v2/test/resume/blobs/${weights}`));
      assert.equal(gets.length, 2);
      assert.equal(gets[0]!.range, undefined);
      const resumedFrom = Number(/^bytes=(\d+)-$/.exec(gets[1]!.range ?? "")?.[1]);
      assert.ok(resumedFrom > 0 && resumedFrom <= 8 * 1024 * 1024, `resumed from ${gets[1]!.range}`);
      await readGGUF((await store.resolve(String(viaProxy))).paths[0]);
    } finally {
      await proxy.close();
    }
  });

  it("refuses a corrupted blob, keeps nothing of it and lists nothing", async () => {
    const client = createRegistryClient();
    const reference = parseNamedReference(`${registry.host}/test/corrupt:v1`);
    const source = await freshStore();
    const model = await importGGUF(source, fixtures.embedding, { tags: [reference], extras: { system: "corrupt me" } });
    await pushToRegistry(source, client, reference);
    const weights = model.parts.weights[0].digest;
    const hex = weights.slice(7);
    const data = join(registry.storage, "data/docker/registry/v2/blobs/sha256", hex.slice(0, 2), hex, "data");
    const bytes = await readFile(data);
    const middle = bytes.byteLength >> 1;
    bytes.writeUInt8(bytes.readUInt8(middle) ^ 0xff, middle); // same size, one byte flipped
    await writeFile(data, bytes);

    const store = await freshStore();
    await assert.rejects(pullFromRegistry(store, client, reference), DigestMismatchError);
    assert.equal(await store.hasBlob(weights), false);
    assert.deepEqual((await readdir(store.layout.blobsDir)).filter((name) => name.startsWith(hex)), []);
    assert.deepEqual(await store.models(), []);
  });

  it("concurrent pulls of one model share one download", async () => {
    const client = createRegistryClient();
    const reference = parseNamedReference(`${registry.host}/test/shared:v1`);
    const source = await freshStore();
    const model = await importGGUF(source, fixtures.chat, { tags: [reference] });
    await pushToRegistry(source, client, reference);

    const proxy = await startCuttingProxy(registry.host);
    try {
      const store = await freshStore();
      const distribution = createModelDistribution({ store, registry: client });
      const viaProxy = `${proxy.host}/test/shared:v1`;
      const heard: Progress[][] = [[], [], []];
      const results = await Promise.all(heard.map((events) => distribution.pull(viaProxy, { onProgress: (event) => events.push(event) })));
      assert.ok(results.every((result) => result.id === model.id));
      const weights = model.parts.weights[0].digest;
      assert.equal(proxy.requests.filter((request) => request.line.startsWith(`GET /v2/test/shared/blobs/${weights}`)).length, 1);
      assert.equal(proxy.requests.filter((request) => request.line.startsWith("GET /v2/test/shared/manifests/")).length, 1);
      assert.ok(heard.every((events) => events.length > 0));
    } finally {
      await proxy.close();
    }
  });
});
