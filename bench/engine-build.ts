/**
 * llama.cpp engine figures: with --build, the engine made from an empty
 * cache both ways, side by side in one run (HOME and XDG_CACHE_HOME at a
 * fresh directory, so npm's cache is empty too): llama-server compiled on
 * npm's prebuilt libraries, then the full source build (about 10 minutes on
 * 2 cores); then load time of the tiny fixture model (spawn → /health 200),
 * and the memory estimate against the runner's measured peak RSS (VmHWM)
 * after a request that fills its context.
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
import { ensureLlamaServer, type InstallStage, type LlamaServer } from "../src/backends/llamacpp/install.ts";
import type { Backend, BackendConfiguration, BackendMode } from "../src/inference/index.ts";
import { llamaServerForTests } from "../test/support/engine.ts";

const MiB = 1024 * 1024;

interface BuildRun {
  readonly label: string;
  readonly server: LlamaServer;
  readonly totalMs: number;
  readonly stages: ReadonlyMap<InstallStage, number>;
  /** From the engine ready to the first chat completion's answer: spawn, load, one reply. */
  readonly firstChatMs: number;
}

/** Makes the engine from nothing with `MODELGATE_LLAMA_BUILD=<build>`, then answers one chat request with it. */
async function measureBuild(label: string, build: "auto" | "source", chatModel: string): Promise<BuildRun> {
  const saved = { ...process.env };
  const home = await mkdtemp(join(tmpdir(), "modelgate-build-bench-"));
  Object.assign(process.env, { HOME: home, XDG_CACHE_HOME: join(home, ".cache"), MODELGATE_LLAMA_BUILD: build });
  delete process.env.MODELGATE_CACHE_DIR;
  delete process.env.LLAMA_SERVER_PATH;
  try {
    const started = performance.now();
    const stageStarts = new Map<InstallStage, number>();
    const server = await ensureLlamaServer({
      onProgress: ({ stage, percent, message, warning }) => {
        if (!stageStarts.has(stage)) stageStarts.set(stage, performance.now());
        if (warning || percent === undefined || percent % 10 === 0) console.error(`[${label} ${stage}${percent === undefined ? "" : ` ${percent}%`}] ${message}`);
      },
    });
    const totalMs = performance.now() - started;
    const entries = [...stageStarts.entries()];
    const stages = new Map(entries.map(([stage, at], index) => [stage, (entries[index + 1]?.[1] ?? started + totalMs) - at]));
    const chatStarted = performance.now();
    const backend = createLlamaCppBackend({ locateModel: async () => ({ ggufPath: chatModel }), logger: pino({ level: "silent" }), resolveServer: async () => server, onSpawn: recordSpawn });
    const runner = await start(backend, "chat", "completion", { "context-size": 512 });
    await fill(runner, "completion", 8);
    const firstChatMs = performance.now() - chatStarted;
    await runner.stop();
    return { label, server, totalMs, stages, firstChatMs };
  } finally {
    process.env = saved;
  }
}

function printBuilds(runs: readonly BuildRun[]): void {
  const stages: InstallStage[] = ["source", "prebuilt", "configure", "build", "verify"];
  const seconds = (ms: number | undefined) => (ms === undefined ? "-" : `${(ms / 1000).toFixed(1)} s`);
  const rows = [
    ...stages.map((stage) => [`  ${stage}`, ...runs.map((run) => seconds(run.stages.get(stage)))]),
    ["engine ready", ...runs.map((run) => seconds(run.totalMs))],
    ["+ first chat reply", ...runs.map((run) => seconds(run.firstChatMs))],
    ["empty cache → first reply", ...runs.map((run) => seconds(run.totalMs + run.firstChatMs))],
  ];
  const header = ["", ...runs.map((run) => `${run.label} (${run.server.variant})`)];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const format = (row: string[]) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join("  ");
  console.log(`\n${format(header)}\n${rows.map(format).join("\n")}`);
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
if (process.argv.includes("--build")) {
  printBuilds([await measureBuild("prebuilt", "auto", models.chat), await measureBuild("source", "source", models.chat)]);
}

const backend = createLlamaCppBackend({
  locateModel: async (id) => ({ ggufPath: paths[id]! }),
  logger: pino({ level: "silent" }),
  onSpawn: recordSpawn,
});

function recordSpawn({ socket, pid }: { socket: string; pid: number }): void {
  spawnedAt.set(socket, { pid, at: performance.now() });
}

async function start(backend: Backend, model: string, mode: BackendMode, config?: BackendConfiguration): Promise<Started> {
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

const binary = await llamaServerForTests();
console.log(`\nllama-server: ${binary}`);

const loads: number[] = [];
for (let i = 0; i < 5; i++) {
  const runner = await start(backend, "chat", "completion", { "context-size": 512 });
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
  const runner = await start(backend, model, mode, config);
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
