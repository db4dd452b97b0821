/**
 * The gateway's cost on the engines path (issue 3), measured in one run:
 *
 * 1. Warm: `POST /engines/v1/chat/completions` on the gateway, against the
 *    same request sent straight to llama-server on its socket: to the
 *    gateway's own runner (the very process the gateway forwards to) and to
 *    a llama-server started by hand with the runner's exact command line,
 *    and against the thinnest Hono proxy to that runner (`minimal-proxy.ts`):
 *    what the extra hop alone costs on this machine.
 *    Time to first token and total time at each concurrency (p50, p99),
 *    throughput, paths interleaved round by round.
 * 2. Cold start: request → first token on a fresh gateway (ready: engine
 *    located and demo models registered, as at boot; no runner yet),
 *    against spawning llama-server by hand, polling `/health` every 2 ms and
 *    sending the request; also a reload on a warm gateway (runner unloaded),
 *    which leaves out the fresh Node process's first-run costs.
 *
 * Goals: added TTFT < 1 ms p50 and < 3 ms p99; throughput ratio ≥ 0.98;
 * cold-start overhead < 100 ms.
 *
 *   npm run bench -- engines [--requests 320] [--concurrency 1,16,64] [--cold 8]
 *     [--max-tokens 32] [--max-load 1.5] [--profile <dir>] [--engine-threads N]
 */
import { mkdir, readdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { Agent, request } from "undici";
import { ensureFixtureModels } from "../fixtures/generate.ts";
import { ensureLlamaServer } from "../src/backends/llamacpp/install.ts";
import { loggedAt, runnerCommand, startBenchGateway } from "./support/bench-gateway.ts";
import { printCpuProfileSummary } from "./support/cpu-profile.ts";
import { cpuProfileEnvironment } from "./support/cpu-profiler-preload.ts";
import { compareInterleaved, measureAndReport } from "./support/interleaved-comparison.ts";
import { startLlamaServerByHand } from "./support/llama-server-by-hand.ts";
import { loadAverageText, waitForQuietMachine } from "./support/machine-load.ts";
import { configureThreads, defaultPrompt, openAIChatBody, openModelPaths, pathNames, warmUp, type BenchPrompt } from "./support/model-paths.ts";
import { medianPairedDifference, summarize } from "./support/statistics.ts";
import { timeStreamedRequest } from "./support/streamed-request.ts";
import { fixed, printTable, signed } from "./support/table.ts";

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "320" },
    concurrency: { type: "string", default: "1,16,64" },
    cold: { type: "string", default: "8" },
    "max-tokens": { type: "string", default: String(defaultPrompt.maxTokens) },
    "max-load": { type: "string", default: "1.5" },
    "wait-load-s": { type: "string", default: "120" },
    profile: { type: "string" },
    "engine-threads": { type: "string" },
  },
});

const prompt: BenchPrompt = { ...defaultPrompt, maxTokens: Number(values["max-tokens"]) };
const concurrencies = values.concurrency.split(",").map(Number);
const coldRuns = Number(values.cold);
const profileDir = values.profile === undefined ? undefined : resolve(values.profile);

await ensureFixtureModels({ onProgress: (line) => console.error(line) });
await ensureLlamaServer({ onProgress: ({ stage, message }) => console.error(`[llama-server ${stage}] ${message}`) });
if (profileDir) await mkdir(profileDir, { recursive: true });

// Once, before the bench adds load of its own (its engines alone keep the load near 2).
await waitForQuietMachine(Number(values["max-load"]), Number(values["wait-load-s"]) * 1000);
console.log(`# engines overhead: ${prompt.maxTokens} tokens per request, load average ${loadAverageText()} at start`);
const engineThreads = values["engine-threads"] === undefined ? undefined : Number(values["engine-threads"]);
const paths = await openModelPaths(prompt, { gatewayEnv: profileDir ? cpuProfileEnvironment(profileDir) : {}, engineThreads });
try {
  console.log(`engine: ${paths.runner.binary} ${paths.runner.args.join(" ")}`);
  const targets = [paths.targets.engines, paths.targets.minimal, paths.targets.runner, paths.targets.direct];
  await warmUp(targets, 20);
  const pairs = [
    [pathNames.engines, pathNames.direct],
    [pathNames.engines, pathNames.runner],
    [pathNames.engines, pathNames.minimal],
    [pathNames.minimal, pathNames.runner],
    [pathNames.runner, pathNames.direct],
  ] as const;
  for (const concurrency of concurrencies) {
    await compareInterleaved(targets, { concurrency, rounds: 1 }); // warms this concurrency up; not reported
    await measureAndReport(targets, { concurrency, rounds: Math.ceil(Number(values.requests) / concurrency) }, pairs);
  }
  if (coldRuns > 0) await measureColdStarts(paths.gateway.url, paths.gatewayDispatcher, paths.runner);
} finally {
  await paths.close();
}
if (profileDir) {
  for (const file of (await readdir(profileDir)).filter((name) => name.endsWith(".cpuprofile"))) {
    await printCpuProfileSummary(join(profileDir, file));
  }
}

/**
 * Three ways to go from nothing loaded to a first token, taken in turn:
 * a fresh gateway, the engine by hand, and a warm gateway whose runner was
 * unloaded.
 */
async function measureColdStarts(warmGatewayUrl: string, warmDispatcher: Agent, engine: { binary: string; args: readonly string[] }) {
  const body = openAIChatBody(prompt);
  const fresh: number[] = [];
  const freshBoot: number[] = [];
  const freshSpawn: number[] = [];
  const freshReady: number[] = [];
  const byHand: number[] = [];
  const byHandReady: number[] = [];
  const reload: number[] = [];

  const freshGateway = async () => {
    const gateway = await startBenchGateway();
    freshBoot.push(gateway.bootMs);
    const dispatcher = new Agent();
    try {
      // Configured as the warm gateway's runner was, so that it starts the very command line run by hand.
      if (engineThreads !== undefined) await configureThreads(gateway.url, engineThreads);
      const from = gateway.logs.length;
      const started = performance.now();
      const timing = await timeStreamedRequest({ name: "fresh gateway", url: `${gateway.url}/engines/v1/chat/completions`, dispatcher, format: "sse", body });
      fresh.push(timing.ttftMs);
      freshSpawn.push((loggedAt(gateway, "starting llama-server", from) ?? NaN) - started);
      freshReady.push((loggedAt(gateway, "runner ready", from) ?? NaN) - started);
      await runnerCommand(gateway, from); // the runner did start in this request
    } finally {
      await dispatcher.close();
      await gateway.stop();
    }
  };
  const engineByHand = async () => {
    const started = performance.now();
    const server = await startLlamaServerByHand(engine.binary, engine.args);
    try {
      const requestAt = performance.now();
      const timing = await timeStreamedRequest({ name: "by hand", url: "http://engine/v1/chat/completions", dispatcher: server.dispatcher, format: "sse", body });
      byHand.push(requestAt - started + timing.ttftMs);
      byHandReady.push(server.readyMs);
    } finally {
      await server.stop();
    }
  };
  const reloadOnWarmGateway = async () => {
    const unloaded = await request(`${warmGatewayUrl}/engines/unload`, {
      method: "POST",
      dispatcher: warmDispatcher,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ all: true }),
    });
    if (unloaded.statusCode !== 200) throw new Error(`unload: HTTP ${unloaded.statusCode}: ${await unloaded.body.text()}`);
    await unloaded.body.dump();
    const timing = await timeStreamedRequest({ name: "reload", url: `${warmGatewayUrl}/engines/v1/chat/completions`, dispatcher: warmDispatcher, format: "sse", body });
    reload.push(timing.ttftMs);
  };

  const loadBefore = loadAverageText();
  const kinds = [freshGateway, engineByHand, reloadOnWarmGateway];
  for (let run = 0; run < coldRuns; run++) {
    for (let turn = 0; turn < kinds.length; turn++) await kinds[(run + turn) % kinds.length]!();
  }

  console.log(`\n### cold start: request → first token, ${coldRuns} runs each (load average ${loadBefore} before, ${loadAverageText()} after; ms)\n`);
  const row = (name: string, values: number[]) => {
    const summary = summarize(values);
    return [name, fixed(summary.min, 1), fixed(summary.p50, 1), fixed(summary.mean, 1), fixed(summary.max, 1)];
  };
  printTable(
    ["path", "min", "p50", "mean", "max"],
    [
      row("fresh gateway boot: listening → ready (not in a request)", freshBoot),
      row("fresh gateway: request → first token", fresh),
      row("  of which request → llama-server spawned", freshSpawn),
      row("  of which request → runner ready (health)", freshReady),
      row("llama-server by hand: spawn → first token", byHand),
      row("  of which spawn → /health 200", byHandReady),
      row("warm gateway, runner unloaded: request → first token", reload),
    ],
  );
  console.log("");
  printTable(
    ["added over llama-server by hand", "Δp50", "Δmin", "Δ paired median"],
    [
      ["fresh gateway", signed(summarize(fresh).p50 - summarize(byHand).p50, 1), signed(summarize(fresh).min - summarize(byHand).min, 1), signed(medianPairedDifference(fresh, byHand), 1)],
      ["warm gateway, runner unloaded", signed(summarize(reload).p50 - summarize(byHand).p50, 1), signed(summarize(reload).min - summarize(byHand).min, 1), signed(medianPairedDifference(reload, byHand), 1)],
    ],
  );
}
