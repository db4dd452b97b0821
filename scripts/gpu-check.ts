/**
 * `npm run gpu-check`: on a machine with a GPU, shows that modelgate's
 * llama.cpp engine uses it. Provisions the engine as the gateway would
 * (prebuilt libraries, source build as the fallback), loads the generated
 * chat model with every layer offloaded, fails unless the runner reports a
 * GPU device, its layers on it and a GPU backend mapped, then prints tokens/s
 * on the GPU against the CPU in the same run. With `vllm` installed and
 * MODELGATE_GPU_CHECK_VLLM_MODEL naming a local safetensors model directory,
 * it also serves one request through the vLLM backend.
 *
 * Needs only production dependencies (tsx runs it). Without a registry,
 * bring the engine cache along (`~/.cache/modelgate/llama.cpp/<commit>`:
 * `packages/` and `src/`), or set LLAMA_SERVER_PATH.
 *
 *   npm run gpu-check
 */
import { mkdtemp, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { Agent, request } from "undici";
import { ensureFixtureModels } from "../fixtures/generate.ts";
import { createLlamaCppBackend } from "../src/backends/llamacpp/backend.ts";
import { listEngineDevices } from "../src/backends/llamacpp/engine-devices.ts";
import { describeInstallProgress, ensureLlamaServer } from "../src/backends/llamacpp/install.ts";
import { loadedGgmlBackends } from "../src/backends/llamacpp/loaded-backends.ts";
import { createVllmBackend } from "../src/backends/vllm/backend.ts";
import { locateVllm } from "../src/backends/vllm/locate.ts";
import type { Backend, BackendConfiguration } from "../src/inference/index.ts";

const log = (line: string) => process.stdout.write(`[gpu-check] ${line}\n`);
const failures: string[] = [];
const check = (ok: boolean, what: string) => {
  log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failures.push(what);
};

const server = await ensureLlamaServer({ onProgress: (progress) => process.stderr.write(`${progress.warning ? "WARNING " : ""}${describeInstallProgress(progress)}\n`) });
log(`engine: ${server.path} (${server.provisioning}${server.variant ? `, ${server.variant}` : ""}${server.commit ? `, llama.cpp ${server.commit.slice(0, 7)}` : ""})`);
if (server.env.LD_LIBRARY_PATH) log(`runner LD_LIBRARY_PATH: ${server.env.LD_LIBRARY_PATH}`);
const devices = await listEngineDevices(server.path, { ...process.env, ...server.env });
log(`GPU devices llama-server finds: ${devices.join("; ") || "none"}`);
check(devices.length > 0, "llama-server lists a GPU device");

const models = await ensureFixtureModels({ onProgress: (line) => process.stderr.write(`[fixtures] ${line}\n`) });
const pids = new Map<string, number>();
const stderr = new Map<string, string[]>();
const backend = createLlamaCppBackend({
  locateModel: async () => ({ ggufPath: models.chat }),
  logger: pino({ level: "silent" }),
  resolveServer: async () => server,
  onSpawn: ({ socket, pid }) => pids.set(socket, pid),
  onLog: (line, { socket }) => stderr.get(socket)?.push(line),
});

interface Measured {
  readonly tokensPerSecond: number;
  readonly backends: string[];
  readonly vram: number;
  readonly offloaded?: string;
}

/** Starts a runner with `flags`, generates `tokens` tokens, and reads what it reports. */
async function measure(label: string, flags: string[], tokens = 256): Promise<Measured> {
  const socket = join(await mkdtemp(join(tmpdir(), "modelgate-gpu-check-")), "runner.sock");
  stderr.set(socket, []);
  const controller = new AbortController();
  const config: BackendConfiguration = { "context-size": 1024, "runtime-flags": flags };
  const run = backend.run(controller.signal, socket, "chat", "chat", "completion", config);
  let failure: unknown;
  run.catch((error: unknown) => (failure = error));
  const agent = new Agent({ connect: { socketPath: socket } });
  try {
    for (let ready = false; !ready; await sleep(20)) {
      if (failure) throw failure;
      const health = await request("http://runner/health", { dispatcher: agent }).catch(() => undefined);
      await health?.body.dump();
      ready = health?.statusCode === 200;
    }
    const response = await request("http://runner/completion", {
      method: "POST",
      dispatcher: agent,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: "Once upon a time", n_predict: tokens, ignore_eos: true }),
    });
    const reply = (await response.body.json()) as { timings?: { predicted_per_second?: number } };
    const offloaded = stderr.get(socket)!.map((line) => /offloaded (\d+\/\d+) layers to GPU/.exec(line)?.[1]).find(Boolean);
    const measured = {
      tokensPerSecond: reply.timings?.predicted_per_second ?? 0,
      backends: loadedGgmlBackends(pids.get(socket)!),
      vram: backend.runnerMemory?.(socket)?.vram ?? 0,
      offloaded,
    };
    log(`${label}: ${measured.tokensPerSecond.toFixed(1)} tokens/s; layers offloaded ${offloaded ?? "none"}; VRAM ${(measured.vram / 2 ** 20).toFixed(1)} MiB; backends mapped: ${measured.backends.join(", ")}`);
    return measured;
  } finally {
    controller.abort();
    await run.catch(() => {});
    await agent.close();
  }
}

const gpu = await measure("GPU (-ngl 999)", ["-ngl", "999"]);
check(gpu.offloaded !== undefined && gpu.offloaded.split("/")[0] === gpu.offloaded.split("/")[1], "every layer offloaded");
check(gpu.vram > 0, "the runner reports VRAM in use");
check(gpu.backends.some((name) => !name.startsWith("libggml-cpu")), "a GPU backend (CUDA or Vulkan) is mapped in the runner");
const cpu = await measure("CPU (-ngl 0 --device none)", ["-ngl", "0", "--device", "none"]);
log(`tokens/s GPU ${gpu.tokensPerSecond.toFixed(1)} against CPU ${cpu.tokensPerSecond.toFixed(1)} (the tiny fixture model: launch-bound, not a throughput figure)`);

await checkVllm();

if (failures.length) {
  log(`${failures.length} check(s) failed: ${failures.join("; ")}`);
  process.exit(1);
}
log("all checks passed");

async function checkVllm(): Promise<void> {
  const vllm = await locateVllm().catch(() => undefined);
  if (!vllm) {
    log("vLLM: not installed, skipped");
    return;
  }
  const modelDir = process.env.MODELGATE_GPU_CHECK_VLLM_MODEL;
  if (!modelDir) {
    log("vLLM: installed, but MODELGATE_GPU_CHECK_VLLM_MODEL names no local safetensors model directory: skipped");
    return;
  }
  const vllmBackend: Backend = createVllmBackend({
    logger: pino({ level: "silent" }),
    locateModel: async () => ({ name: basename(modelDir), format: "safetensors", path: modelDir, size: (await stat(modelDir)).size }),
  });
  const socket = join(await mkdtemp(join(tmpdir(), "modelgate-gpu-check-vllm-")), "runner.sock");
  const controller = new AbortController();
  const run = vllmBackend.run(controller.signal, socket, "vllm-model", "vllm-model", "completion");
  let failure: unknown;
  run.catch((error: unknown) => (failure = error));
  const agent = new Agent({ connect: { socketPath: socket } });
  try {
    const deadline = Date.now() + 10 * 60_000;
    for (let ready = false; !ready; await sleep(500)) {
      if (failure) throw failure;
      if (Date.now() > deadline) throw new Error("vLLM did not become ready in 10 minutes");
      const health = await request("http://runner/health", { dispatcher: agent }).catch(() => undefined);
      await health?.body.dump();
      ready = health?.statusCode === 200;
    }
    const started = performance.now();
    const response = await request("http://runner/v1/completions", {
      method: "POST",
      dispatcher: agent,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "vllm-model", prompt: "Once upon a time", max_tokens: 128, ignore_eos: true }),
    });
    const reply = (await response.body.json()) as { usage?: { completion_tokens?: number } };
    const seconds = (performance.now() - started) / 1000;
    check(response.statusCode === 200, `vLLM answered a completion (${reply.usage?.completion_tokens ?? 0} tokens, ${((reply.usage?.completion_tokens ?? 0) / seconds).toFixed(1)} tokens/s with the request's overhead)`);
  } catch (error) {
    check(false, `vLLM: ${(error as Error).message}`);
  } finally {
    controller.abort();
    await run.catch(() => {});
    await agent.close();
  }
}
