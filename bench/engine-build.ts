/**
 * llama.cpp engine figures: build time (only with --build: a full compile,
 * about 10 minutes on 2 cores, into a fresh temporary cache), load time of
 * the tiny fixture model (spawn → /health 200), and the memory estimate
 * against the runner's measured peak RSS (VmHWM) after a request that
 * fills its context.
 *
 *   node --import tsx bench/engine-build.ts [--build]
 */
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { Agent, request } from "undici";
import { ensureFixtureModels } from "../fixtures/generate.ts";
import { createLlamaCppBackend } from "../src/backends/llamacpp/backend.ts";
import { ensureLlamaServer, type InstallStage } from "../src/backends/llamacpp/install.ts";
import type { BackendConfiguration, BackendMode } from "../src/inference/index.ts";
import { llamaServerForTests } from "../test/support/engine.ts";

const MiB = 1024 * 1024;

async function measureBuild(): Promise<void> {
  const realCache = process.env.MODELGATE_CACHE_DIR;
  process.env.MODELGATE_CACHE_DIR = await mkdtemp(join(tmpdir(), "modelgate-build-bench-"));
  const started = performance.now();
  const stageStarts = new Map<InstallStage, number>();
  const server = await ensureLlamaServer({
    onProgress: ({ stage, percent, message }) => {
      if (!stageStarts.has(stage)) stageStarts.set(stage, performance.now());
      if (percent === undefined || percent % 10 === 0) console.error(`[${stage}${percent === undefined ? "" : ` ${percent}%`}] ${message}`);
    },
  });
  const total = performance.now() - started;
  if (realCache === undefined) delete process.env.MODELGATE_CACHE_DIR;
  else process.env.MODELGATE_CACHE_DIR = realCache;
  const stages = [...stageStarts.entries()];
  console.log(`\nbuild of ${server.path} (${server.variant}): ${(total / 1000).toFixed(0)} s in all`);
  stages.forEach(([stage, at], index) => {
    const end = stages[index + 1]?.[1] ?? started + total;
    console.log(`  ${stage.padEnd(10)} ${((end - at) / 1000).toFixed(1)} s`);
  });
}

interface Started {
  readonly pid: number;
  readonly agent: Agent;
  readonly loadMs: number;
  readonly stop: () => Promise<void>;
}

const models = await ensureFixtureModels();
const paths: Record<string, string> = { chat: models.chat, draft: models.draft, embedding: models.embedding };
const spawnedAt = new Map<string, { pid: number; at: number }>();
const backend = createLlamaCppBackend({
  locateModel: async (id) => ({ ggufPath: paths[id]! }),
  logger: pino({ level: "silent" }),
  onSpawn: ({ socket, pid }) => spawnedAt.set(socket, { pid, at: performance.now() }),
});

async function start(model: string, mode: BackendMode, config?: BackendConfiguration): Promise<Started> {
  const socket = join(await mkdtemp(join(tmpdir(), "modelgate-bench-")), "runner.sock");
  const controller = new AbortController();
  const run = backend.run(controller.signal, socket, model, model, mode, config);
  let failure: unknown;
  run.catch((error: unknown) => (failure = error));
  const agent = new Agent({ connect: { socketPath: socket } });
  for (;;) {
    if (failure) throw failure;
    const response = await request("http://runner/health", { dispatcher: agent }).catch(() => undefined);
    await response?.body.dump();
    if (response?.statusCode === 200) break;
    await sleep(5);
  }
  const spawned = spawnedAt.get(socket)!;
  return {
    pid: spawned.pid,
    agent,
    loadMs: performance.now() - spawned.at,
    stop: async () => {
      controller.abort();
      await run;
      await agent.close();
    },
  };
}

/** Sends `tokens` prompt tokens, so the KV cache and compute buffers are really used. */
async function fill(runner: Started, mode: BackendMode, tokens: number): Promise<void> {
  const prompt = Array.from({ length: tokens }, (_, i) => 1000 + (i % 500));
  const [path, body] = mode === "embedding" ? ["/v1/embeddings", { input: prompt }] : ["/completion", { prompt, n_predict: 1 }];
  const response = await request(`http://runner${path}`, {
    method: "POST",
    dispatcher: runner.agent,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await response.body.text();
  if (response.statusCode !== 200) throw new Error(`${path} answered ${response.statusCode}: ${text}`);
}

async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
  return Number(kb) * 1024;
}

if (process.argv.includes("--build")) await measureBuild();
const binary = await llamaServerForTests();
console.log(`\nllama-server: ${binary}`);

const loads: number[] = [];
for (let i = 0; i < 5; i++) {
  const runner = await start("chat", "completion", { "context-size": 512 });
  loads.push(runner.loadMs);
  await runner.stop();
}
loads.sort((a, b) => a - b);
console.log(`load time of the chat fixture (spawn → /health 200), 5 runs: median ${loads[2]!.toFixed(0)} ms, min ${loads[0]!.toFixed(0)} ms, max ${loads[4]!.toFixed(0)} ms`);

const cases: Array<{ label: string; model: string; mode: BackendMode; config: BackendConfiguration; fill: number }> = [
  { label: "chat, ctx 512", model: "chat", mode: "completion", config: { "context-size": 512 }, fill: 500 },
  { label: "chat, ctx 4096", model: "chat", mode: "completion", config: { "context-size": 4096 }, fill: 4000 },
  { label: "chat + draft, ctx 4096", model: "chat", mode: "completion", config: { "context-size": 4096, speculative: { draft_model: "draft" } }, fill: 4000 },
  { label: "embedding, ctx 512", model: "embedding", mode: "embedding", config: { "context-size": 512 }, fill: 500 },
];
const rows: string[][] = [];
for (const { label, model, mode, config, fill: tokens } of cases) {
  const estimate = await backend.requiredMemoryForModel(AbortSignal.timeout(10_000), model, config);
  const runner = await start(model, mode, config);
  await fill(runner, mode, tokens);
  const peak = await peakRss(runner.pid);
  await runner.stop();
  const error = (estimate.ram / peak - 1) * 100;
  rows.push([label, (estimate.ram / MiB).toFixed(1), (peak / MiB).toFixed(1), `${error >= 0 ? "+" : ""}${error.toFixed(1)}%`]);
}
const header = ["runner", "estimate MiB", "peak RSS MiB", "error"];
const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
const format = (row: string[]) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join("  ");
console.log(`\n${format(header)}\n${widths.map((width) => "-".repeat(width)).join("  ")}\n${rows.map(format).join("\n")}`);
