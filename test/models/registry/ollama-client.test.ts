/**
 * ollama-js against the `/models` app and Ollama's management routes, served
 * in-process by @hono/node-server, with a real registry behind pull and push.
 * `/api/tags` belongs to the Ollama app; a stand-in drawn from the store
 * answers it here.
 */
import assert from "node:assert/strict";
import { readFile, mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { serve, type ServerType } from "@hono/node-server";
import { Hono } from "hono";
import { Ollama } from "ollama";
import { pino } from "pino";
import { ensureFixtureModels, type FixtureModels } from "../../../fixtures/generate.ts";
import { readGGUF } from "../../../src/models/gguf.ts";
import { createModelsApp } from "../../../src/models/models-app.ts";
import { registerDemoModels } from "../../../src/models/store/demo-models.ts";
import { sha256Digest } from "../../../src/models/store/digest.ts";
import { openModelStore, type ModelStore, type StoredModel } from "../../../src/models/store/model-store.ts";
import { createOllamaModelManagementApp } from "../../../src/ollama/model-management/model-management-app.ts";
import { registryAvailable, startRegistry, type TestRegistry } from "../../support/registry.ts";

const skip = (await registryAvailable()) ? false : "docker-registry is not installed (apt-get install docker-registry)";

describe("ollama-js against the model management routes", { skip }, () => {
  let fixtures: FixtureModels;
  let home: string;
  let store: ModelStore;
  let registry: TestRegistry;
  let server: ServerType;
  let host: string;
  let ollama: Ollama;
  const unloaded: StoredModel[] = [];

  before(async () => {
    fixtures = await ensureFixtureModels();
    home = await mkdtemp(join(tmpdir(), "modelgate-ollama-js-"));
    store = await openModelStore({ home });
    await registerDemoModels(store, fixtures);
    registry = await startRegistry({ auth: "token" });
    const logger = pino({ level: "silent" });
    const { registryCredentials } = await import("../../support/registry.ts");
    const { createRegistryClient } = await import("../../../src/models/registry/registry-client.ts");
    const { createModelDistribution } = await import("../../../src/models/store/model-distribution.ts");
    const distribution = createModelDistribution({ store, registry: createRegistryClient({ credentials: () => registryCredentials }) });
    const models = createModelsApp({ store, logger, distribution, unload: async (model) => void unloaded.push(model) });
    const app = new Hono();
    app.route("/models", models);
    app.route("/api", createOllamaModelManagementApp({ models: models.fetch, logger }));
    app.get("/api/tags", async (c) =>
      c.json({ models: (await store.list()).map((model) => ({ name: model.name, model: model.name, size: model.size, digest: model.id.slice(7) })) }),
    );
    server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
    await new Promise<void>((resolve) => server.once("listening", () => resolve()));
    host = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    ollama = new Ollama({ host });
  });

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await registry.stop();
    await rm(home, { recursive: true, force: true });
  });

  const names = async () => (await ollama.list()).models.map((model) => model.name).sort();

  it("lists the demo models", async () => {
    assert.deepEqual(await names(), ["tiny-draft:latest", "tiny-embed:latest", "tiny-tools:latest", "tiny:latest"]);
  });

  it("copy, push, delete, pull: a round trip through the registry", async () => {
    const remote = `${registry.host}/library/tiny:v2`;
    assert.deepEqual(await ollama.copy({ source: "tiny", destination: remote }), { status: "success" });
    assert.ok((await names()).includes(remote));

    const statuses: string[] = [];
    for await (const event of await ollama.push({ model: remote, stream: true })) statuses.push(event.status);
    assert.equal(statuses.at(-1), "success");
    assert.ok(statuses.includes("pushing manifest"));

    assert.deepEqual(await ollama.delete({ model: remote }), { status: "success" });
    assert.equal(unloaded.at(-1)?.tags.map(String).includes(remote), true);
    assert.ok(!(await names()).includes(remote));

    assert.deepEqual(await ollama.pull({ model: remote }), { status: "success" });
    const pulled = await store.resolve(remote);
    assert.equal(pulled.id, (await store.resolve("tiny")).id);
    await readGGUF(pulled.paths[0]);
  });

  it("pull streams progress with digests, totals and completed bytes, ending in success", async () => {
    const remote = `${registry.host}/library/tiny-embed:v1`;
    await ollama.copy({ source: "tiny-embed", destination: remote });
    await ollama.push({ model: remote });
    await ollama.delete({ model: remote });
    const events = [];
    for await (const event of await ollama.pull({ model: remote, stream: true })) events.push(event);
    assert.equal(events[0]?.status, "pulling manifest");
    assert.ok(events.some((event) => event.digest && event.total > 0 && event.completed === event.total));
    assert.equal(events.at(-1)?.status, "success");
  });

  it("create from uploaded blobs, with system prompt and parameters", async () => {
    const bytes = await readFile(fixtures.embedding);
    const digest = sha256Digest(bytes);
    await store.remove((await store.find("tiny-embed")).id); // the demo model (all its tags) holds these very bytes
    assert.equal((await fetch(`${host}/api/blobs/${digest}`, { method: "HEAD" })).status, 404);
    assert.equal((await fetch(`${host}/api/blobs/${digest}`, { method: "POST", body: bytes })).status, 201);
    assert.equal((await fetch(`${host}/api/blobs/${digest}`, { method: "HEAD" })).status, 200);

    // ollama-js sends `files` through, though its 0.6.4 types do not name it.
    const request = { model: "my-embed", files: { "model.gguf": digest }, system: "Embed things.", parameters: { temperature: 0.1 } };
    const events = [];
    for await (const event of await ollama.create({ ...request, stream: true })) events.push(event.status);
    assert.equal(events.at(-1), "success");
    const details = (await (await fetch(`${host}/models/my-embed`)).json()) as { system: string; parameters: unknown };
    assert.equal(details.system, "Embed things.");
    assert.deepEqual(details.parameters, { temperature: 0.1 });
  });

  it("create from an existing model overrides its system prompt", async () => {
    assert.deepEqual(await ollama.create({ model: "tiny-terse", from: "tiny", system: "Be terse." }), { status: "success" });
    const model = await store.find("tiny-terse");
    assert.equal(model.parts.weights[0].digest, (await store.find("tiny")).parts.weights[0].digest);
    assert.equal(new TextDecoder().decode(await store.readBlob(model.parts.system!)), "Be terse.");
  });

  it("a blob that does not match its digest is a 400", async () => {
    const response = await fetch(`${host}/api/blobs/sha256:${"0".repeat(64)}`, { method: "POST", body: "not these bytes" });
    assert.equal(response.status, 400);
    assert.match(((await response.json()) as { error: string }).error, /digest mismatch/);
  });

  it("create refuses a blob that is not GGUF with the parser's reason, and drops the blob", async () => {
    const bytes = Buffer.from("definitely not a GGUF file, just some text");
    const digest = sha256Digest(bytes);
    assert.equal((await fetch(`${host}/api/blobs/${digest}`, { method: "POST", body: bytes })).status, 201);
    const request = { model: "broken", files: { "model.gguf": digest } };
    await assert.rejects(ollama.create({ ...request }), /GGUF parse error/);
    assert.equal((await fetch(`${host}/api/blobs/${digest}`, { method: "HEAD" })).status, 404);
    assert.ok(!(await names()).includes("broken:latest"));
  });

  it("delete and copy of unknown models are 404s; hostile names are 400s", async () => {
    const del = await fetch(`${host}/api/delete`, { method: "DELETE", body: JSON.stringify({ model: "ghost" }) });
    assert.equal(del.status, 404);
    assert.match(((await del.json()) as { error: string }).error, /not found/);
    const copy = await fetch(`${host}/api/copy`, { method: "POST", body: JSON.stringify({ source: "ghost", destination: "x" }) });
    assert.equal(copy.status, 404);
    for (const model of ["../../tiny", "/etc/passwd", "a\\b", "tiny%2f..", "a\u0000b"]) {
      const response = await fetch(`${host}/api/delete`, { method: "DELETE", body: JSON.stringify({ model }) });
      assert.equal(response.status, 400, model);
    }
    assert.ok((await names()).includes("tiny:latest"));
  });

  it("stream:false answers the last object; a failed pull is an HTTP error", async () => {
    await assert.rejects(ollama.pull({ model: `${registry.host}/library/missing:v9` }), /MANIFEST_UNKNOWN|not found|unknown/i);
    const response = await fetch(`${host}/api/pull`, { method: "POST", body: JSON.stringify({ model: "tiny", stream: false }) });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: "success" });
  });

  it("missing or invalid bodies are 400s with an error", async () => {
    for (const [path, body] of [
      ["/api/pull", ""],
      ["/api/pull", "{"],
      ["/api/pull", "{}"],
      ["/api/create", JSON.stringify({ model: "x" })],
      ["/api/create", JSON.stringify({ model: "x", quantize: "q4_K_M", from: "tiny" })],
    ] as const) {
      const response = await fetch(`${host}${path}`, { method: "POST", body });
      assert.equal(response.status, 400, `${path} ${body}`);
      assert.equal(typeof ((await response.json()) as { error: unknown }).error, "string");
    }
  });
});
