/**
 * Model distribution through the real gateway process, driven by ollama-js:
 * push to a real registry (Debian's docker-registry), delete, pull back with
 * progress and chat with the result on llama-server; create from uploaded
 * blobs; copy and delete, with the runner of a model that keeps a name left
 * alone. The steps run in order, each on what the one before left.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { Ollama, type ProgressResponse } from "ollama";
import { ensureFixtureModels } from "../../fixtures/generate.ts";
import { sha256Digest, type Sha256Digest } from "../../src/models/store/digest.ts";
import { startGateway, type GatewayProcess } from "../support/gateway.ts";
import { startRegistry, type TestRegistry } from "../support/registry.ts";


describe("model distribution through the gateway", () => {
  let registry: TestRegistry;
  let gateway: GatewayProcess;
  let ollama: Ollama;
  let chatBytes: Buffer;
  let chatDigest: Sha256Digest;
  let remote: string;

  before(async () => {
    chatBytes = await readFile((await ensureFixtureModels()).chat);
    chatDigest = sha256Digest(chatBytes);
    registry = await startRegistry();
    gateway = await startGateway();
    ollama = new Ollama({ host: gateway.url });
    remote = `${registry.host}/library/tiny:v1`;
  });

  after(async () => {
    await gateway?.stop();
    await registry?.stop();
  });

  const names = async () => (await ollama.list()).models.map((model) => model.name).sort();
  const blobStatus = async (digest: string) => (await fetch(`${gateway.url}/api/blobs/${digest}`, { method: "HEAD" })).status;
  const loadedDigests = async () => (await ollama.ps()).models.map((model) => model.digest);
  const collect = async (stream: AsyncIterable<ProgressResponse>) => {
    const events: ProgressResponse[] = [];
    for await (const event of stream) events.push(event);
    return events;
  };
  const chat = (model: string) =>
    ollama.chat({ model, messages: [{ role: "user", content: "Hello" }], options: { num_predict: 5, temperature: 0 } });

  it("lists the demo models under :latest names", async () => {
    assert.deepEqual(await names(), ["tiny-draft:latest", "tiny-embed:latest", "tiny-tools:latest", "tiny:latest"]);
  });

  it("push, delete locally, pull back with streamed progress, then chat with it", async () => {
    const tinyDigest = (await ollama.list()).models.find((model) => model.name === "tiny:latest")!.digest;
    assert.deepEqual(await ollama.copy({ source: "tiny", destination: remote }), { status: "success" });
    const pushed = await collect(await ollama.push({ model: remote, insecure: true, stream: true }));
    assert.ok(pushed.some((event) => event.status === "pushing manifest"));
    assert.equal(pushed.at(-1)?.status, "success");

    for (const model of [remote, "tiny"]) assert.deepEqual(await ollama.delete({ model }), { status: "success" });
    assert.deepEqual(await names(), ["tiny-draft:latest", "tiny-embed:latest", "tiny-tools:latest"]);
    assert.equal(await blobStatus(chatDigest), 404, "the last name took the weights with it");

    const pulled = await collect(await ollama.pull({ model: remote, insecure: true, stream: true }));
    assert.equal(pulled[0]?.status, "pulling manifest");
    const weights = pulled.filter((event) => event.digest === chatDigest);
    assert.ok(weights.length > 0, JSON.stringify(pulled));
    assert.ok(weights.every((event) => event.total === chatBytes.byteLength && event.completed <= event.total));
    assert.equal(weights.at(-1)?.completed, chatBytes.byteLength);
    assert.equal(pulled.at(-1)?.status, "success");
    const listed = (await ollama.list()).models.find((model) => model.name === remote);
    assert.equal(listed?.digest, tinyDigest, "the manifest came back byte for byte");

    const reply = await chat(remote);
    assert.equal(reply.done, true);
    assert.equal(reply.message.role, "assistant");
    assert.ok(reply.eval_count > 0 && reply.message.content.length > 0, JSON.stringify(reply));
  });

  it("deleting one of a loaded model's names leaves its runner and blobs; the last name unloads it", async () => {
    await chat(remote);
    const [runner] = await loadedDigests();
    assert.ok(runner, "the model is loaded");
    await ollama.copy({ source: remote, destination: "mine" });
    await ollama.delete({ model: "mine" });
    assert.deepEqual(await loadedDigests(), [runner]);
    assert.equal(await blobStatus(chatDigest), 200);
    assert.ok((await chat(remote)).eval_count > 0);

    await ollama.delete({ model: remote });
    assert.deepEqual(await loadedDigests(), []);
    assert.equal(await blobStatus(chatDigest), 404);
  });

  it("create from an uploaded GGUF blob with a system prompt and parameters, then generate with it", async () => {
    assert.equal(await blobStatus(chatDigest), 404);
    assert.equal((await fetch(`${gateway.url}/api/blobs/${chatDigest}`, { method: "POST", body: chatBytes })).status, 201);
    assert.equal(await blobStatus(chatDigest), 200);
    // A blob the store has: 200, as Ollama's CreateBlobHandler answers it, without reading the body.
    assert.equal((await fetch(`${gateway.url}/api/blobs/${chatDigest}`, { method: "POST", body: chatBytes })).status, 200);

    // ollama-js sends `files` through, though its 0.6.4 types do not name it.
    const request = { model: "my-model", files: { "model.gguf": chatDigest }, system: "Be brief.", parameters: { temperature: 0.1 } };
    const events = await collect(await ollama.create({ ...request, stream: true }));
    assert.deepEqual(
      events.map((event) => event.status),
      ["creating model", "success"],
    );
    assert.ok((await names()).includes("my-model:latest"));
    const details = (await (await fetch(`${gateway.url}/models/my-model`)).json()) as { system: string; parameters: unknown };
    assert.equal(details.system, "Be brief.");
    assert.deepEqual(details.parameters, { temperature: 0.1 });

    const reply = await ollama.generate({ model: "my-model", prompt: "Hello", options: { num_predict: 5 } });
    assert.equal(reply.done, true);
    assert.ok(reply.eval_count > 0 && Boolean(reply.response), JSON.stringify(reply));
  });

  it("create from an existing model shares its weights and overrides its system prompt", async () => {
    assert.deepEqual(await ollama.create({ model: "my-terse", from: "my-model", system: "Be terse." }), { status: "success" });
    const show = async (name: string) => (await (await fetch(`${gateway.url}/models/${name}`)).json()) as { system: string; paths: string[] };
    const [terse, base] = await Promise.all([show("my-terse"), show("my-model")]);
    assert.equal(terse.system, "Be terse.");
    assert.deepEqual(terse.paths, base.paths);
  });

  it("create refuses a blob that is not GGUF with the parser's reason, lists nothing and keeps the blob for a retry, as Ollama does", async () => {
    const bytes = Buffer.from("definitely not a GGUF file, just some text");
    const digest = sha256Digest(bytes);
    assert.equal((await fetch(`${gateway.url}/api/blobs/${digest}`, { method: "POST", body: bytes })).status, 201);
    const before = await names();
    await assert.rejects(ollama.create({ ...{ model: "broken", files: { "model.gguf": digest } } }), /GGUF parse error/);
    assert.equal(await blobStatus(digest), 200);
    assert.deepEqual(await names(), before);
  });

  it("copy and delete; unknown models are 404s, hostile names 400s", async () => {
    assert.deepEqual(await ollama.copy({ source: "my-model", destination: "my-copy:v2" }), { status: "success" });
    assert.ok((await names()).includes("my-copy:v2"));
    assert.deepEqual(await ollama.delete({ model: "my-copy:v2" }), { status: "success" });
    assert.deepEqual(await names(), ["my-model:latest", "my-terse:latest", "tiny-draft:latest", "tiny-embed:latest", "tiny-tools:latest"]);

    await assert.rejects(ollama.delete({ model: "ghost" }), /not found/);
    await assert.rejects(ollama.copy({ source: "ghost", destination: "x" }), /not found/);
    for (const model of ["../../tiny", "/etc/passwd", "a\\b", "tiny%2f..", "a\u0000b"]) {
      const response = await fetch(`${gateway.url}/api/delete`, { method: "DELETE", body: JSON.stringify({ model }) });
      assert.equal(response.status, 400, model);
    }
  });

  it("a blob that does not match its digest is a 400", async () => {
    const response = await fetch(`${gateway.url}/api/blobs/sha256:${"0".repeat(64)}`, { method: "POST", body: "not these bytes" });
    assert.equal(response.status, 400);
    assert.match(((await response.json()) as { error: string }).error, /digest mismatch/);
  });

  it("stream:false answers the last object; a failed pull is an HTTP error", async () => {
    await assert.rejects(ollama.pull({ model: `${registry.host}/library/missing:v9`, insecure: true }), /MANIFEST_UNKNOWN|not found|unknown/i);
    // A pull always asks the registry: one already here is fetched again (only its manifest, the blobs are present).
    await ollama.copy({ source: "my-model", destination: remote });
    await collect(await ollama.push({ model: remote, insecure: true, stream: true }));
    const response = await fetch(`${gateway.url}/api/pull`, { method: "POST", body: JSON.stringify({ model: remote, insecure: true, stream: false }) });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: "success" });
  });

  it("missing or invalid bodies are 400s with an error", async () => {
    for (const [path, body] of [
      ["/api/pull", ""],
      ["/api/pull", "{"],
      ["/api/pull", "{}"],
      ["/api/create", JSON.stringify({ model: "x" })],
      ["/api/create", JSON.stringify({ model: "x", quantize: "q4_K_M", from: "my-model" })],
    ] as const) {
      const response = await fetch(`${gateway.url}${path}`, { method: "POST", body });
      assert.equal(response.status, 400, `${path} ${body}`);
      assert.equal(typeof ((await response.json()) as { error: unknown }).error, "string");
    }
  });
});
