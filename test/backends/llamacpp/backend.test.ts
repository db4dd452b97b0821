import assert from "node:assert/strict";
import { mkdtemp, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { Agent, request } from "undici";
import { ensureFixtureModels, type FixtureModels } from "../../../fixtures/generate.ts";
import { EngineCrashedError } from "../../../src/backends/engine-crashed-error.ts";
import { createLlamaCppBackend } from "../../../src/backends/llamacpp/backend.ts";
import { ensureLlamaServer } from "../../../src/backends/llamacpp/install.ts";
import { llamaCppSource } from "../../../src/backends/llamacpp/source.ts";
import { InvalidConfigurationError, type Backend, type BackendConfiguration, type BackendMode } from "../../../src/inference/index.ts";
import { llamaServerForTests } from "../../support/engine.ts";
import { isProcessRunning, spawnTied } from "../../support/processes.ts";

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

async function eventually(condition: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await sleep(50);
  }
  return condition();
}

interface Runner {
  readonly socket: string;
  readonly pid: number;
  readonly agent: Agent;
  readonly run: Promise<void>;
  readonly stop: () => Promise<void>;
}

describe("llama.cpp backend on the real llama-server", () => {
  let models: FixtureModels;
  let backend: Backend;
  const pids = new Map<string, number>();
  const agents: Agent[] = [];

  before(async () => {
    await llamaServerForTests();
    models = await ensureFixtureModels();
    const notAModel = join(await mkdtemp(join(tmpdir(), "mg-not-a-model-")), "not-a-model.gguf");
    await writeFile(notAModel, "this is not a GGUF file");
    const paths: Record<string, string> = { chat: models.chat, embedding: models.embedding, draft: models.draft, "not-a-model": notAModel };
    backend = createLlamaCppBackend({
      locateModel: async (id) => ({ ggufPath: paths[id] ?? assert.fail(`unknown model ${id}`) }),
      logger: pino({ level: "silent" }),
      onSpawn: ({ socket, pid }) => pids.set(socket, pid),
      stopGraceMs: 2000,
    });
  });

  after(() => Promise.all(agents.map((agent) => agent.close())));

  /** Starts a runner and waits until it answers /health, or fails if the run ends first. */
  async function startRunner(model: string, mode: BackendMode, config?: BackendConfiguration): Promise<Runner> {
    const socket = join(await mkdtemp(join(tmpdir(), "mg-llamacpp-")), `${model}.sock`);
    const controller = new AbortController();
    const run = backend.run(controller.signal, socket, model, model, mode, config);
    let ended = false;
    run.then(() => (ended = true), () => (ended = true));
    const agent = new Agent({ connect: { socketPath: socket } });
    agents.push(agent);
    const healthy = await eventually(async () => {
      if (ended) return true;
      const response = await request("http://runner/health", { dispatcher: agent }).catch(() => undefined);
      await response?.body.dump();
      return response?.statusCode === 200;
    }, 60_000);
    if (ended) await run; // surfaces the start failure
    assert.ok(healthy, "llama-server became healthy");
    const pid = pids.get(socket) ?? assert.fail("onSpawn reported no pid");
    return { socket, pid, agent, run, stop: () => (controller.abort(), run) };
  }

  async function assertStopped(runner: Runner): Promise<void> {
    assert.equal(await isProcessRunning(runner.pid), false, "llama-server exited");
    assert.equal(await exists(runner.socket), false, "socket removed");
  }

  it("streams a chat completion over the Unix socket, then stops on abort", async () => {
    const runner = await startRunner("chat", "completion", { "context-size": 512 });
    const response = await request("http://runner/v1/chat/completions", {
      method: "POST",
      dispatcher: runner.agent,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: "Hello" }], max_tokens: 8, stream: true }),
    });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers["content-type"]), /text\/event-stream/);
    const events: string[] = [];
    for await (const line of createInterface({ input: response.body })) if (line.startsWith("data: ")) events.push(line.slice(6));
    assert.equal(events.at(-1), "[DONE]");
    const chunks = events.slice(0, -1).map((data) => JSON.parse(data) as { choices: Array<{ delta?: { content?: string }; finish_reason?: string | null }> });
    assert.ok(chunks.some((chunk) => chunk.choices[0]?.delta?.content), "some content was streamed");
    assert.ok(chunks.some((chunk) => chunk.choices[0]?.finish_reason === "length"));

    await runner.stop();
    await assertStopped(runner);
  });

  it("status tells how the engine was provisioned, its commit, the backends the runner loaded and no GPU here; the runner's memory is its own report", async () => {
    const server = await ensureLlamaServer();
    const runner = await startRunner("chat", "completion", { "context-size": 512 });
    const status = backend.status();
    assert.match(status, new RegExp(`^llama-server \\(${server.provisioning}, llama\\.cpp ${llamaCppSource.commit.slice(0, 7)}\\) at ${server.path.replaceAll(".", "\\.")}; GPU devices: none; `));
    // A prebuilt engine maps the CPU variant ggml chose for this processor; a source build has it linked in.
    const backends = /ggml backends loaded: (.*)$/.exec(status)?.[1];
    if (server.provisioning === "prebuilt") assert.match(backends!, /^libggml-cpu-[a-z0-9]+\.so$/);
    else assert.equal(backends, "built into the binary");
    const memory = backend.runnerMemory?.(runner.socket) ?? assert.fail("the runner reported no buffers");
    assert.equal(memory.vram, 0, "nothing on a GPU here");
    const weights = (await stat(models.chat)).size;
    assert.ok(memory.ram > weights * 0.9, `its buffers (${memory.ram} bytes) hold the model's weights (${weights} bytes of file)`);
    await runner.stop();
    assert.equal(backend.runnerMemory?.(runner.socket), undefined, "forgotten once stopped");
  });

  it("serves embeddings in embedding mode", async () => {
    const runner = await startRunner("embedding", "embedding");
    const response = await request("http://runner/v1/embeddings", {
      method: "POST",
      dispatcher: runner.agent,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "embedding", input: ["hello world", "goodbye"] }),
    });
    const body = (await response.body.json()) as { data: Array<{ embedding: number[] }> };
    assert.equal(response.statusCode, 200, JSON.stringify(body));
    assert.equal(body.data.length, 2);
    assert.ok(body.data[0]!.embedding.length > 0 && body.data[0]!.embedding.every(Number.isFinite));
    await runner.stop();
    await assertStopped(runner);
  });

  it("runs speculative decoding with a draft model", async () => {
    const runner = await startRunner("chat", "completion", { "context-size": 512, speculative: { draft_model: "draft", num_tokens: 4 } });
    const response = await request("http://runner/v1/chat/completions", {
      method: "POST",
      dispatcher: runner.agent,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: "Hello" }], max_tokens: 16 }),
    });
    assert.equal(response.statusCode, 200);
    const { timings } = (await response.body.json()) as { timings: { draft_n?: number; draft_n_accepted?: number } };
    assert.ok((timings.draft_n ?? 0) > 0, `the draft model proposed tokens: ${JSON.stringify(timings)}`);
    assert.ok((timings.draft_n_accepted ?? 0) > 0, `the target model accepted some: ${JSON.stringify(timings)}`);
    await runner.stop();
    await assertStopped(runner);
  });

  it("rejects with EngineCrashedError and the stderr tail when llama-server is killed", async () => {
    const runner = await startRunner("chat", "completion", { "context-size": 512 });
    process.kill(runner.pid, "SIGKILL");
    const error = await runner.run.then(() => assert.fail("run resolved"), (caught: unknown) => caught);
    assert.ok(error instanceof EngineCrashedError, String(error));
    assert.equal(error.signal, "SIGKILL");
    // llama.cpp prints its log from a worker thread: the lines about being ready may still be
    // queued when it is killed right after /health answers; the model's loading is long written.
    assert.ok(error.stderrTail.some((line) => line.includes("load_model")), error.message);
    assert.match(error.message, /^llama-server: killed from outside/);
    await assertStopped(runner);
  });

  it("names a model that fails to load", async () => {
    await assert.rejects(startRunner("not-a-model", "completion"), (error: unknown) => {
      assert.ok(error instanceof EngineCrashedError);
      assert.match(error.message, /^llama-server: the model could not be loaded/);
      return true;
    });
  });

  it("refuses a runtime flag outside its allow-list when configured, before anything starts", () => {
    assert.throws(() => backend.checkConfiguration?.({ "runtime-flags": ["--agent"] }), InvalidConfigurationError);
    backend.checkConfiguration?.({ "runtime-flags": ["--threads", "2"] });
  });

  it("names an argument llama-server refuses", async () => {
    await assert.rejects(startRunner("chat", "completion", { "runtime-flags": ["--cache-type-k", "bogus"] }), (error: unknown) => {
      assert.ok(error instanceof EngineCrashedError);
      assert.match(error.message, /^llama-server: an invalid command-line argument/);
      return true;
    });
  });

  it("estimates memory from the model and the context size", async () => {
    const small = await backend.requiredMemoryForModel(AbortSignal.timeout(5000), "chat", { "context-size": 512 });
    const large = await backend.requiredMemoryForModel(AbortSignal.timeout(5000), "chat", { "context-size": 4096 });
    const modelBytes = (await stat(models.chat)).size;
    assert.ok(small.ram > modelBytes && large.ram > small.ram, JSON.stringify({ small, large, modelBytes }));
    assert.equal(small.vram, 0);
  });

  it("a memory estimate's engine build is bound by its caller's signal alone (the loader's has no deadline: no first start's 500 after 60 s)", async () => {
    const signals: AbortSignal[] = [];
    const building = createLlamaCppBackend({
      locateModel: async () => ({ ggufPath: models.chat }),
      logger: pino({ level: "silent" }),
      resolveServer: async ({ signal }) => {
        assert.ok(signal, "the build gets a signal");
        signals.push(signal);
        return ensureLlamaServer({ signal });
      },
    });
    const caller = new AbortController();
    const estimate = await building.requiredMemoryForModel(caller.signal, "chat", { "context-size": 512 });
    assert.ok(estimate.ram > 0);
    assert.equal(signals.length, 1);
    assert.equal(signals[0]!.aborted, false, "the build was not bound to a deadline of the backend's own");
    caller.abort(new Error("the gateway is shutting down"));
    assert.equal(signals[0]!.aborted, true, "the build follows its caller's signal");
  });

  it("reports its state and the engine's size on disk", async () => {
    assert.match(backend.status(), /^llama-server \((prebuilt|source|path)[^)]*\) at /);
    assert.ok((await backend.diskUsage()) > 1_000_000);
  });

  it("takes llama-server down with the gateway when the gateway is killed with SIGKILL", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mg-orphan-"));
    const gateway = `
      import { pino } from "pino";
      import { createLlamaCppBackend } from ${JSON.stringify(new URL("../../../src/backends/llamacpp/backend.ts", import.meta.url).href)};
      const backend = createLlamaCppBackend({
        locateModel: async () => ({ ggufPath: ${JSON.stringify(models.chat)} }),
        logger: pino({ level: "silent" }),
        onSpawn: ({ pid }) => console.log(pid),
      });
      await backend.run(new AbortController().signal, ${JSON.stringify(join(dir, "chat.sock"))}, "chat", "chat", "completion", { "context-size": 512 });`;
    const parent = await spawnTied(process.execPath, ["--import", "tsx", "--input-type=module", "-e", gateway], { cwd: process.cwd(), stdio: ["ignore", "pipe", "inherit"] });
    const [line] = await new Promise<string[]>((resolve) => createInterface({ input: parent.stdout! }).once("line", (first) => resolve([first])));
    const enginePid = Number(line);
    assert.ok(await isProcessRunning(enginePid), "llama-server started");
    parent.kill("SIGKILL");
    assert.ok(await eventually(async () => !(await isProcessRunning(enginePid)), 5000), "llama-server died with its parent");
  });
});
