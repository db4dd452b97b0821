/**
 * Faults injected into the gateway process, as users run it: its runner
 * killed mid-stream, clients that leave mid-stream and mid-load, an engine
 * that hangs at load or exits at once, and streams still running when the
 * grace period of a SIGTERM runs out. Each ends with a clear error and no
 * process, lease or socket left behind.
 *
 * Elsewhere: the engines layer's own faults (test/scheduling/engines.e2e),
 * SIGTERM drained and SIGKILL (test/server/shutdown.e2e), a registry cut
 * mid-blob (test/models/registry), disk full during a pull (disk-full.e2e).
 */
import assert from "node:assert/strict";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { Agent, request } from "undici";
import { startGateway, useGateway, type GatewayProcess } from "../support/gateway.ts";
import { descendants, waitForExit } from "../support/processes.ts";
import { ndjsonLines } from "../support/streams.ts";

const messages = [{ role: "user", content: "Say something." }];
/** More tokens than any test waits for: the stream runs until the fault. */
const endless = { num_predict: 100_000 };

interface RunnerView {
  model_name: string;
  slot: number;
  loading: boolean;
  in_use: boolean;
}

function post(gateway: GatewayProcess, path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(`${gateway.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal });
}

async function runners(gateway: GatewayProcess): Promise<RunnerView[]> {
  return (await (await fetch(`${gateway.url}/engines/ps`)).json()) as RunnerView[];
}

async function engines(gateway: GatewayProcess, name = "llama-server"): Promise<number[]> {
  return (await descendants(gateway.child.pid!)).filter((process) => process.name === name).map((process) => process.pid);
}

async function eventually<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Slots of a runner that are generating, asked on its own socket. */
async function slotsProcessing(gateway: GatewayProcess, slot: number): Promise<number> {
  const agent = new Agent({ connect: { socketPath: join(gateway.home, "runners", `inference-runner-${slot}.sock`) } });
  try {
    const { body } = await request("http://runner/slots", { dispatcher: agent });
    return ((await body.json()) as { is_processing: boolean }[]).filter((s) => s.is_processing).length;
  } finally {
    await agent.close();
  }
}

describe("faults on the real engine", () => {
  const served = useGateway();

  it("a runner killed mid-stream ends /api/chat with an error line; the next request loads a new one", async () => {
    const response = await post(served.gateway, "/api/chat", { model: "tiny", messages, options: endless });
    const lines: Record<string, unknown>[] = [];
    for await (const line of ndjsonLines(response)) {
      lines.push(line);
      if (lines.length === 3) {
        const [pid] = await engines(served.gateway);
        process.kill(pid!, "SIGKILL");
      }
    }
    const last = lines.at(-1)!;
    assert.match(String(last.error), /llama-server.*SIGKILL/);
    assert.equal(lines.filter((line) => "done" in line && line.done === true).length, 0, "no done object after the error");
    assert.ok(lines.slice(0, -1).every((line) => line.done === false && !("error" in line)));

    const next = await post(served.gateway, "/api/chat", { model: "tiny", messages, stream: false, options: { num_predict: 2 } });
    assert.equal(((await next.json()) as { done: boolean }).done, true);
  });

  it("a client leaving /api/chat mid-stream stops the engine's generation and releases the runner", async () => {
    const controller = new AbortController();
    const response = await post(served.gateway, "/api/chat", { model: "tiny", messages, options: endless }, controller.signal);
    const lines = ndjsonLines(response);
    await lines.next();
    await lines.next();
    const [runner] = await runners(served.gateway);
    assert.equal(runner?.in_use, true);
    assert.equal(await slotsProcessing(served.gateway, runner.slot), 1);
    controller.abort();
    await eventually(async () => (await slotsProcessing(served.gateway, runner.slot)) === 0, "llama-server to stop generating");
    await eventually(async () => (await runners(served.gateway)).every((r) => !r.in_use), "the lease to be released");
  });

  it("a client leaving while its model loads leaves a runner that loads, idles and serves the next request", async () => {
    const controller = new AbortController();
    const leaving = post(served.gateway, "/api/chat", { model: "tiny-tools", messages, options: { num_predict: 2 } }, controller.signal);
    await eventually(async () => (await runners(served.gateway)).some((r) => r.model_name === "tiny-tools:latest" && r.loading), "the load to start");
    controller.abort();
    await assert.rejects(leaving, { name: "AbortError" });
    const loaded = await eventually(
      async () => (await runners(served.gateway)).find((r) => r.model_name === "tiny-tools:latest" && !r.loading),
      "the load to finish",
    );
    assert.equal(loaded.in_use, false, "no lease was left to the request that left");
    const next = await post(served.gateway, "/api/chat", { model: "tiny-tools", messages, stream: false, options: { num_predict: 2 } });
    assert.equal(((await next.json()) as { done: boolean }).done, true);
  });
});

/**
 * A stand-in for llama-server that misbehaves as broken builds and models do:
 * for `tiny` it starts and never binds its socket; for `tiny-tools` it says
 * why it cannot load and exits at once. It records its pid.
 */
const misbehavingEngine = `#!/bin/sh
case " $* " in *" --list-devices "*) exit 0;; esac
echo $$ >> "$ENGINE_PIDS"
case " $* " in
  *" --alias tiny-tools:latest "*) echo "llama_model_load: error loading model: unsupported tensor type 42" >&2; exit 1;;
esac
exec sleep 300
`;

describe("faults of the engine itself", () => {
  let dir: string;
  let gateway: GatewayProcess;
  const pidsFile = () => join(dir, "pids");
  const startedPids = async () => (await readFile(pidsFile(), "utf8").catch(() => "")).split("\n").filter(Boolean).map(Number);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "modelgate-engine-"));
    const engine = join(dir, "llama-server");
    await writeFile(engine, misbehavingEngine);
    await chmod(engine, 0o755);
    gateway = await startGateway({ env: { LLAMA_SERVER_PATH: engine, MODELGATE_LOAD_TIMEOUT: "2s", ENGINE_PIDS: pidsFile() } });
  });
  after(async () => {
    await gateway?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("an engine that never becomes ready is killed at the load timeout, with a clear error", async () => {
    const response = await post(gateway, "/api/chat", { model: "tiny", messages, stream: false });
    assert.equal(response.status, 500);
    assert.match(((await response.json()) as { error: string }).error, /did not become ready within 2s/);
    const pids = await startedPids();
    assert.equal(pids.length, 1);
    assert.deepEqual(await waitForExit(pids, 10_000), [], "the hung engine was killed");
    await eventually(async () => (await runners(gateway)).length === 0, "the runner to be forgotten");
  });

  it("an engine that exits at once fails the request with its last stderr lines", async () => {
    const response = await post(gateway, "/api/generate", { model: "tiny-tools", prompt: "hi", stream: false });
    assert.equal(response.status, 500);
    const { error } = (await response.json()) as { error: string };
    assert.match(error, /exited with code 1/);
    assert.match(error, /error loading model: unsupported tensor type 42/);
    assert.deepEqual(await runners(gateway), []);
  });
});

describe("SIGTERM when the grace period runs out", () => {
  it("streams still running end with an error line or event, and no engine survives", async () => {
    const gateway = await startGateway({ env: { MODELGATE_SHUTDOWN_GRACE: "1" } });
    try {
      const chat = ndjsonLines(await post(gateway, "/api/chat", { model: "tiny", messages, options: endless }));
      await chat.next();
      const sse = await post(gateway, "/engines/v1/chat/completions", { model: "tiny", messages, max_tokens: 100_000, stream: true });
      const sseText = sse.text();
      const pids = await engines(gateway);
      assert.equal(pids.length, 1);

      gateway.child.kill("SIGTERM");
      const rest: Record<string, unknown>[] = [];
      for await (const line of chat) rest.push(line);
      assert.match(String(rest.at(-1)?.error), /\S/, "the NDJSON stream ends with an error line");
      assert.ok(rest.every((line) => line.done !== true));
      const events = (await sseText).trim().split("\n\n");
      assert.match(events.at(-1)!, /^data: \{"error":/, "the event stream ends with an error event");

      assert.equal(await new Promise((resolve) => gateway.child.once("exit", resolve)), 0);
      assert.deepEqual(await waitForExit(pids, 5_000), [], "no llama-server survives the gateway");
    } finally {
      await gateway.stop();
    }
  });
});
