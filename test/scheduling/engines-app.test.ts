import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, afterEach, describe, it } from "node:test";
import { pino } from "pino";
import { ModelNotFoundError, normalizeModelReference, type ModelResolver, type ResolvedModel } from "../../src/models/model-resolver.ts";
import { InvalidConfigurationError, type BackendConfiguration } from "../../src/inference/index.ts";
import type { StoredConfiguration } from "../../src/models/store/model-configurations.ts";
import { createEngineMetrics } from "../../src/scheduling/engine-metrics.ts";
import { createEnginesApp } from "../../src/scheduling/engines-app.ts";
import type { EngineCall, EngineReply, Engines } from "../../src/engines/engines.ts";
import { createLoader, type Loader, type LoaderOptions } from "../../src/scheduling/loader.ts";
import { prepareRunnersDir } from "../../src/scheduling/runners-dir.ts";
import { eventually } from "../support/eventually.ts";
import { createFakeBackend, type FakeBackendOptions } from "./fake-backend.ts";

const logger = pino({ level: "silent" });

function model(name: string): ResolvedModel {
  return {
    name: `${name}:latest`,
    id: `sha256:${name}`,
    format: "gguf",
    paths: [`/models/${name}.gguf`],
    summary: { architecture: "llama", contextLength: 2048, parameterCount: 1000, quantization: "F16", hasTokenizer: true, tensorBytes: 100, fileSize: 100 },
    size: 100,
    modifiedAt: new Date(0),
  };
}

const models = ["a", "b", "c"].map(model);
const resolver: ModelResolver = {
  async resolve(reference) {
    const found = models.find((m) => m.name === normalizeModelReference(reference) || m.id === reference);
    if (!found) throw new ModelNotFoundError(reference);
    return found;
  },
  list: async () => models,
};

const homes: string[] = [];
const loaders: Loader[] = [];
afterEach(async () => {
  await Promise.all(loaders.splice(0).map((loader) => loader.close()));
});
after(async () => {
  await Promise.all(homes.map((home) => rm(home, { recursive: true, force: true })));
});

async function setup(engine: FakeBackendOptions = {}, loaderOptions: Partial<LoaderOptions> = {}) {
  const home = await mkdtemp(join(tmpdir(), "modelgate-engines-"));
  homes.push(home);
  const runnersDir = await prepareRunnersDir(home, logger);
  const fake = createFakeBackend(engine);
  const metrics = createEngineMetrics();
  const loader = createLoader({ backends: [fake.backend], resolver, runnersDir, logger, onRunnerEvent: metrics.runnerEvent, ...loaderOptions });
  loaders.push(loader);
  const app = createEnginesApp({ loader, resolver, logger, metrics, maxBodyBytes: 1024 * 1024 });
  const post = (path: string, body: unknown, init: RequestInit = {}) =>
    app.request(path, { method: "POST", body: typeof body === "string" ? body : JSON.stringify(body), headers: { "content-type": "application/json" }, ...init });
  const chat = (modelName: string, extra: Record<string, unknown> = {}, init: RequestInit = {}) =>
    post("/v1/chat/completions", { model: modelName, messages: [{ role: "user", content: "hi" }], stream: true, ...extra }, init);
  return { app, loader, fake, runnersDir, metrics, post, chat };
}

function dataLines(text: string): string[] {
  return text.split("\n").filter((line) => line.startsWith("data: "));
}

describe("engines app on a stand-in engine", () => {
  it("loads a runner on the first request and streams the engine's response through", async () => {
    const { chat, fake, app } = await setup({ loadMs: 100 });
    const response = await chat("a");
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "text/event-stream");
    const lines = dataLines(await response.text());
    assert.equal(lines.length, 6);
    assert.equal(lines.at(-1), "data: [DONE]");
    assert.equal(fake.starts, 1);
    const ps = (await (await app.request("/ps")).json()) as Array<Record<string, unknown>>;
    assert.equal(ps.length, 1);
    assert.equal(ps[0]?.model_name, "a:latest");
    assert.equal(ps[0]?.in_use, false);
    assert.equal(ps[0]?.loading, false);
    assert.equal(ps[0]?.context_size, null, "an engine that does not say, and no configuration");
  });

  it("says how long each request waited for its runner to load", async () => {
    const { chat } = await setup({ loadMs: 100 });
    const [cold, alsoCold] = await Promise.all([chat("a"), chat("a")]);
    const warm = await chat("a");
    for (const response of [cold, alsoCold, warm]) await response.text();
    for (const response of [cold, alsoCold]) assert.ok(Number(response.headers.get("x-load-duration-ms")) >= 100);
    assert.equal(warm.headers.get("x-load-duration-ms"), "0.000");
  });

  it("starts one runner for concurrent requests that arrive during its load", async () => {
    const { chat, fake } = await setup({ loadMs: 150 });
    const responses = await Promise.all(Array.from({ length: 8 }, () => chat("a")));
    const texts = await Promise.all(responses.map((r) => r.text()));
    assert.ok(texts.every((text) => text.endsWith("data: [DONE]\n\n")));
    assert.equal(fake.starts, 1);
  });

  it("routes by backend in the path, and refuses an unknown one with 404", async () => {
    const { post } = await setup();
    const ok = await post("/fake/v1/embeddings", { model: "a", input: "x" });
    assert.equal(ok.status, 200);
    const missing = await post("/nope/v1/embeddings", { model: "a", input: "x" });
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { error: { message: 'backend "nope" not found', type: "not_found_error", code: "backend_not_found" } });
  });

  it("answers bad requests with OpenAI-shaped errors", async () => {
    const { post, chat } = await setup();
    const malformed = await post("/v1/chat/completions", "{nope");
    assert.equal(malformed.status, 400);
    const body = (await malformed.json()) as { error: { message: string; type: string } };
    assert.match(body.error.message, /malformed JSON/);
    assert.equal(body.error.type, "invalid_request_error");

    const noModel = await post("/v1/chat/completions", { messages: [] });
    assert.equal(noModel.status, 400);
    assert.match(((await noModel.json()) as { error: { message: string } }).error.message, /model is required/);

    const unknown = await chat("zzz");
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { error: { code: string } }).error.code, "model_not_found");

    const huge = await post("/v1/chat/completions", { model: "a", pad: "x".repeat(2 * 1024 * 1024) });
    assert.equal(huge.status, 413);
    assert.equal(((await huge.json()) as { error: { code: string } }).error.code, "request_too_large");

    const badKeepAlive = await chat("a", { keep_alive: "soon" });
    assert.equal(badKeepAlive.status, 400);
  });

  it("unloads a runner once its request ends when keep_alive is 0", async () => {
    const { chat, loader, runnersDir } = await setup();
    await (await chat("a", { keep_alive: 0 })).text();
    await eventually(() => loader.runners().length === 0, "the runner to unload");
    await eventually(async () => (await readdir(runnersDir)).length === 0, "the socket to be removed");
  });

  it("ends a stream cut by an engine crash with an error event carrying the engine's words, then starts afresh", async () => {
    const { chat, fake } = await setup({ tokenMs: 20 });
    const response = await chat("a", { max_tokens: 1000 });
    const reader = response.body!.getReader();
    await reader.read();
    fake.crash("sha256:a", "GGML_ASSERT(n_tokens > 0) failed");
    let text = "";
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += new TextDecoder().decode(chunk.value);
    const last = JSON.parse(dataLines(text).at(-1)!.slice("data: ".length)) as { error: { message: string; code: string } };
    assert.match(last.error.message, /GGML_ASSERT\(n_tokens > 0\) failed/);
    assert.equal(last.error.code, "engine_failure"); // OpenAI's codes are strings

    const again = await chat("a");
    assert.equal(again.status, 200);
    assert.ok((await again.text()).endsWith("data: [DONE]\n\n"));
    assert.equal(fake.starts, 2);
  });

  it("releases the runner and aborts the engine's request when the client stops reading", async () => {
    const { chat, loader, fake } = await setup({ tokenMs: 10 });
    const controller = new AbortController();
    const response = await chat("a", { max_tokens: 10_000 }, { signal: controller.signal });
    const reader = response.body!.getReader();
    await reader.read();
    assert.equal(loader.runners()[0]?.inUse, 1);
    await reader.cancel();
    await eventually(() => loader.runners()[0]?.inUse === 0, "the lease to be released");
    await eventually(() => fake.runners()[0]?.inFlight === 0, "the engine's request to close");
  });

  it("refuses requests past the queue limit with 503 server busy", async () => {
    const { chat } = await setup({ loadMs: 200 }, { maxQueue: 2 });
    const responses = await Promise.all(Array.from({ length: 4 }, () => chat("a")));
    const statuses = responses.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 200, 503, 503]);
    const busy = responses.find((r) => r.status === 503)!;
    assert.match(((await busy.json()) as { error: { message: string } }).error.message, /^server busy, please try again/);
  });

  it("evicts the least recently used idle runner when the memory budget is full", async () => {
    const { chat, loader } = await setup({}, { memory: { ram: 2 } });
    await (await chat("a")).text();
    await (await chat("b")).text();
    await (await chat("a")).text();
    await (await chat("c")).text();
    assert.deepEqual(loader.runners().map((r) => r.model).sort(), ["a:latest", "c:latest"]);
  });

  it("lists models in the OpenAI shape, and shows one", async () => {
    const { app } = await setup();
    const list = (await (await app.request("/v1/models")).json()) as { object: string; data: Array<Record<string, unknown>> };
    assert.equal(list.object, "list");
    assert.deepEqual(list.data[0], {
      id: "a:latest", object: "model", created: 0, owned_by: "modelgate", digest: "sha256:a",
      context_length: 2048, embedding_length: null, architecture: "llama", parameters: 1000,
      quantization: "F16", size: 100, capabilities: ["completion"], template: null,
    });
    assert.equal((await app.request("/fake/v1/models/b")).status, 200);
    assert.equal((await app.request("/v1/models/zzz")).status, 404);
  });

  it("reports status and disk usage, unloads on request", async () => {
    const { app, chat, post, loader } = await setup();
    assert.deepEqual(await (await app.request("/status")).json(), { fake: "running" });
    assert.deepEqual(await (await app.request("/df")).json(), { models_disk_usage: 300, default_backend_disk_usage: 1234, backends_disk_usage: { fake: 1234 } });
    await (await chat("a")).text();
    await (await chat("b")).text();
    assert.deepEqual(await (await post("/unload", { models: ["a"] })).json(), { unloaded_runners: 1 });
    assert.deepEqual(loader.runners().map((r) => r.model), ["b:latest"]);
    assert.deepEqual(await (await post("/unload", { all: true })).json(), { unloaded_runners: 1 });
    assert.equal(loader.runners().length, 0);
    assert.equal((await post("/unload", { some: 1 })).status, 400);
  });

  it("configures a model: validates it, reloads only on change, refuses while the runner is busy", async () => {
    const { chat, post, fake, app } = await setup({ tokenMs: 10 });
    await (await chat("a")).text();
    const bad = await post("/_configure", { model: "a", "runtime-flags": ["--log-file", "/etc/passwd"] });
    assert.equal(bad.status, 400);
    const first = await post("/fake/_configure", { model: "a", "context-size": 512, keep_alive: "10m" });
    assert.deepEqual(await first.json(), { model: "a", changed: true });
    const same = await post("/_configure", { model: "a", "context-size": 512, keep_alive: 600 });
    assert.deepEqual(await same.json(), { model: "a", changed: false });
    const streaming = await chat("a", { max_tokens: 1000 });
    const busy = await post("/_configure", { model: "a", "context-size": 1024 });
    assert.equal(busy.status, 409);
    await streaming.body?.cancel();
    assert.equal(fake.starts, 2, "the configuration change reloaded the runner");
    const [runner] = (await (await app.request("/ps")).json()) as Array<Record<string, unknown>>;
    assert.equal(runner?.context_size, 512, "the configured size, as the engine does not say");
  });

  it("shows the configuration in force: defaults, then what was configured; 400 without a model, 404 for an unknown one", async () => {
    const { app, post } = await setup({}, { keepAliveMs: 120_000 });
    const show = async (query: string) => {
      const response = await app.request(`/_configure${query}`);
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    assert.deepEqual(await show("?model=a"), {
      status: 200,
      body: {
        model: "a:latest", backend: "fake", mode: "completion", "context-size": null, "runtime-flags": [], speculative: null,
        llamacpp: { "reasoning-budget": null }, keep_alive: 120, stored: null,
      },
    });
    const configured = { "context-size": 1024, "runtime-flags": ["--threads", "2"], speculative: { draft_model: "b", num_tokens: 4 }, llamacpp: { "reasoning-budget": 0 }, keep_alive: "10m" };
    assert.equal((await post("/_configure", { model: "a", ...configured })).status, 200);
    const shown = await show("?model=a:latest");
    assert.deepEqual(shown.body, {
      model: "a:latest", backend: "fake", mode: "completion", "context-size": 1024, "runtime-flags": ["--threads", "2"],
      speculative: { draft_model: "b", num_tokens: 4, min_acceptance_rate: null }, llamacpp: { "reasoning-budget": 0 }, keep_alive: 600,
      stored: { ...configured, keep_alive: 600 },
    });
    assert.deepEqual((await (await app.request("/fake/_configure?model=a")).json()) as unknown, shown.body, "the backend's path shows the same");
    assert.equal((await show("?model=a&mode=embedding")).body.stored, null, "configurations are per mode");

    const stored = shown.body.stored as Record<string, unknown>;
    const again = await post("/_configure", { model: "a", ...stored });
    assert.deepEqual(await again.json(), { model: "a", changed: false }, "what GET shows as stored, POSTed back, is the same configuration");
    await post("/_configure", { model: "a" });
    assert.equal((await show("?model=a")).body.stored, null, "an empty configuration returns to the defaults");

    const missing = await show("");
    assert.equal(missing.status, 400);
    assert.deepEqual(missing.body, { error: { message: "model is required", type: "invalid_request_error", code: null } });
    assert.equal((await show("?model=a&mode=sideways")).status, 400);
    const unknown = await show("?model=zzz");
    assert.equal(unknown.status, 404);
    assert.equal((unknown.body.error as { code: string }).code, "model_not_found");
    assert.equal((await app.request("/nobackend/_configure?model=a")).status, 404);
  });

  it("persists configurations and starts runners with the stored ones from the first request", async () => {
    const saved: Array<[string, unknown]> = [];
    const first = await setup({}, { configurations: { stored: new Map(), save: async (id, list) => void saved.push([id, list]) } });
    await first.post("/_configure", { model: "a", "context-size": 512, keep_alive: 60 });
    await first.post("/_configure", { model: "a", mode: "embedding", "context-size": 256 });
    const stored: StoredConfiguration[] = [
      { backend: "fake", mode: "completion", keepAliveMs: 60_000, config: { "context-size": 512 } },
      { backend: "fake", mode: "embedding", config: { "context-size": 256 } },
    ];
    assert.deepEqual(saved, [["sha256:a", stored.slice(0, 1)], ["sha256:a", stored]], "each save holds all of the model's configurations");

    const failing = await setup({}, { configurations: { stored: new Map(), save: async () => Promise.reject(new Error("disk full")) } });
    assert.equal((await failing.post("/_configure", { model: "a", "context-size": 512 })).status, 500);
    assert.equal(((await (await failing.app.request("/_configure?model=a")).json()) as { stored: unknown }).stored, null, "not in force unless saved");

    const restarted = await setup({}, { configurations: { stored: new Map([["sha256:a", stored]]), save: async () => {} } });
    assert.equal(((await (await restarted.app.request("/_configure?model=a")).json()) as { keep_alive: number }).keep_alive, 60);
    await (await restarted.chat("a")).text();
    assert.deepEqual(restarted.fake.runners().map((r) => r.config), [{ "context-size": 512 }]);
  });

  it("refuses with 400, storing nothing, a configuration its backend refuses; skips such a stored one at start", async () => {
    const checkConfiguration = (config: BackendConfiguration) => {
      if (config["runtime-flags"]?.includes("--agent")) throw new InvalidConfigurationError("runtime flag --agent is not allowed");
    };
    const saved: string[] = [];
    const { post, app } = await setup({ checkConfiguration }, { configurations: { stored: new Map(), save: async (id) => void saved.push(id) } });
    const refused = await post("/_configure", { model: "a", "runtime-flags": ["--agent"] });
    assert.equal(refused.status, 400);
    assert.match(await refused.text(), /--agent is not allowed/);
    assert.deepEqual(saved, []);
    assert.equal(((await (await app.request("/_configure?model=a")).json()) as { stored: unknown }).stored, null);

    const refusedAtStart: StoredConfiguration = { backend: "fake", mode: "completion", config: { "runtime-flags": ["--agent"] } };
    const restarted = await setup({ checkConfiguration }, { configurations: { stored: new Map([["sha256:a", [refusedAtStart]]]), save: async () => {} } });
    assert.equal(((await (await restarted.app.request("/_configure?model=a")).json()) as { stored: unknown }).stored, null);
  });

  it("runner_options (Ollama's num_ctx…) get a runner of their own over the stored configuration, which they leave alone", async () => {
    const saved: string[] = [];
    const { app, post, chat, fake } = await setup({}, { configurations: { stored: new Map(), save: async (id) => void saved.push(id) } });
    const speculative = { draft_model: "b", num_tokens: 4 };
    await post("/_configure", { model: "a", speculative, keep_alive: 60 });
    const stored = async () => ((await (await app.request("/_configure?model=a")).json()) as { stored: unknown }).stored;
    await (await chat("a", { runner_options: { "context-size": 512, "draft-tokens": 2, threads: 2 } })).text();
    await (await chat("a")).text();
    await (await chat("a", { runner_options: { threads: 2, "draft-tokens": 2, "context-size": 512 } })).text();
    assert.deepEqual(await stored(), { speculative, keep_alive: 60 });
    assert.equal(saved.length, 1, "only _configure wrote");
    assert.equal(fake.starts, 2, "one runner per configuration, reused whatever the options' order");
    assert.deepEqual(
      fake.runners().map((runner) => runner.config),
      [
        { speculative: { draft_model: "sha256:b", num_tokens: 2 }, "context-size": 512, llamacpp: { threads: 2 } },
        { speculative: { draft_model: "sha256:b", num_tokens: 4 } },
      ],
    );
    const refused = await chat("a", { runner_options: { "gpu-layers": -2 } });
    assert.equal(refused.status, 400);
    assert.match(await refused.text(), /invalid runner_options at gpu-layers/);
  });

  it("counts requests by origin in its metrics", async () => {
    const { chat, metrics } = await setup();
    await (await chat("a", {}, { headers: { "content-type": "application/json", "X-Request-Origin": "ollama/completion" } })).text();
    await (await chat("zzz")).text();
    const text = await metrics.registry.metrics();
    assert.match(text, /modelgate_engine_requests_total\{origin="ollama\/completion",model="a:latest",mode="completion",outcome="completed"\} 1/);
    assert.match(text, /modelgate_engine_requests_total\{origin="direct",model="unknown",mode="completion",outcome="failed"\} 1/);
    assert.match(text, /modelgate_runner_events_total\{backend="fake",model="a:latest",mode="completion",event="loaded"\} 1/);
  });

  it("labels metrics only with known origins and existing models, whatever clients send", async () => {
    const { chat, metrics } = await setup();
    const json = { "content-type": "application/json" };
    for (let i = 0; i < 20; i += 1) {
      await (await chat(`minted-${i}`, {}, { headers: { ...json, "X-Request-Origin": `attacker/${i}` } })).text();
      await (await chat(`bad name ${i}!`, {}, { headers: { ...json, "X-Request-Origin": `x${i}` } })).text();
    }
    await (await chat("a", {}, { headers: { ...json, "X-Request-Origin": "anthropic/messages" } })).text();
    const text = await metrics.registry.metrics();
    assert.doesNotMatch(text, /attacker|minted|bad name|origin="x\d/);
    const series = text.split("\n").filter((line) => line.startsWith("modelgate_engine_requests_total{"));
    assert.deepEqual(series.sort(), [
      'modelgate_engine_requests_total{origin="anthropic/messages",model="a:latest",mode="completion",outcome="completed"} 1',
      'modelgate_engine_requests_total{origin="other",model="unknown",mode="completion",outcome="failed"} 40',
    ]);
  });

  it("on close, stops every runner, removes every socket and refuses new requests", async () => {
    const { chat, loader, runnersDir } = await setup();
    await (await chat("a")).text();
    await (await chat("b")).text();
    await loader.close();
    assert.deepEqual(await readdir(runnersDir), []);
    assert.equal(loader.runners().length, 0);
    assert.equal((await chat("a")).status, 503);
  });

  it("passes the query on to the engine as the URL parses it, and none when there is none", async () => {
    const searches: Array<string | undefined> = [];
    const engines = {
      send: async (call: EngineCall): Promise<EngineReply> => {
        searches.push(call.search);
        return { status: 200, headers: new Headers({ "content-type": "application/json" }), loadDurationMs: 0, body: Readable.from([Buffer.from("{}")]) };
      },
    } as unknown as Engines;
    const app = createEnginesApp({ engines, loader: { backends: new Map() } as unknown as Loader, resolver, logger });
    for (const query of ["", "?", "?a=1&b=%20", "?x#y", "#y?z"]) {
      const reply = await app.request(`/v1/chat/completions${query}`, { method: "POST", body: "{}", headers: { "content-type": "application/json" } });
      assert.equal(reply.status, 200, query);
      await reply.text();
    }
    assert.deepEqual(searches, [undefined, undefined, "?a=1&b=%20", "?x", undefined]);
  });
});

