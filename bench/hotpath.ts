/**
 * The hot path against Node's floor (issue 18), in one run, against
 * yardsticks measured in that same run: nginx (one process, streaming,
 * kept-alive connections to the runner's socket) as the limit of one extra
 * hop, a bare `node:http` pipe (`bare-pipe.ts`) as Node's floor, and undici
 * with `res.write` (`minimal-proxy.ts`) between them. Every path reaches the
 * same runner process: straight on its socket, through each yardstick, and
 * through the gateway's `/engines/v1/chat/completions`, `/api/chat`,
 * `/v1/messages` and `/v1/responses`.
 *
 * 1. CPU per streamed token (`--part cpu`): the gateway's llama-server is a
 *    zero-compute stand-in (`support/llama-server-stand-in.mjs`, one event
 *    every 2 ms to every open stream), so the engine takes no core from the
 *    proxies. 32 concurrent streams of 100 tokens per batch, the paths
 *    taking turns batch by batch, 3 batches each per repetition, 3
 *    repetitions; a path's cost is its proxy process's own
 *    CPU time (all threads, `process-cpu.ts`) over the tokens streamed.
 *    Then the single-process ceiling: 256 streams at once on the pipe,
 *    /engines and /api/chat, tokens/s forwarded with the process saturated.
 *    `--profile <dir>` then profiles each Node path on its own and names
 *    where each microsecond per token goes.
 * 2. Latency (`--part latency`): the same paths in front of the real
 *    llama-server on the tiny fixture model: time to first token and total
 *    time at concurrency 1, 16 and 64, paths interleaved round by round, the
 *    whole sweep repeated 3 times; each figure is the median of the
 *    repetitions with their spread (min–max).
 *
 * Goals (issue 18): CPU per token on /engines ≤ 1.3× the bare pipe, the
 * dialects ≤ 1.8×; TTFT p50 at concurrency 1 ≤ pipe + 0.4 ms (/engines),
 * + 0.8 ms (/api/chat); total time ≤ pipe × 1.04 (/engines), × 1.08 (/api/chat).
 *
 *   npm run bench -- hotpath [--part cpu|latency|all] [--repeats 3]
 *     [--streams 32] [--tokens 100] [--cpu-rounds 3] [--interval-ms 2] [--ceiling-streams 256]
 *     [--concurrency 1,16,64] [--requests 32] [--max-tokens 32]
 *     [--engine-threads N] [--profile <dir>] [--max-load 1.5]
 *
 * About 4 minutes on 2 cores; `--repeats 1`, `--part cpu` (under a minute)
 * or fewer `--requests` shorten it.
 */
import { mkdir } from "node:fs/promises";
import { cpus } from "node:os";
import { resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Agent } from "undici";
import { ensureFixtureModels } from "../fixtures/generate.ts";
import { ensureLlamaServer } from "../src/backends/llamacpp/install.ts";
import { runnerCommand, startBenchGateway } from "./support/bench-gateway.ts";
import { startBarePipe } from "./support/bare-pipe.ts";
import { printCpuProfileSummary } from "./support/cpu-profile.ts";
import { cpuProfileEnvironment, profileWhile } from "./support/cpu-profiler-preload.ts";
import { compareInterleaved, failedRequests, timeOrCountFailure, type TargetMeasurements } from "./support/interleaved-comparison.ts";
import { loadAverageText, waitForQuietMachine } from "./support/machine-load.ts";
import { startMinimalProxy } from "./support/minimal-proxy.ts";
import { anthropicMessagesBody, configureThreads, defaultPrompt, ollamaChatBody, openAIChatBody, responsesBody, warmUp, type BenchPrompt } from "./support/model-paths.ts";
import { ensureNginx, nginxVersion, startNginx } from "./support/nginx.ts";
import { mainThreadCpuNs, processCpuNs, processSyscalls } from "./support/process-cpu.ts";
import type { ProxyProcess } from "./support/proxy-process.ts";
import { median, quantile, summarize } from "./support/statistics.ts";
import { closedConnections, drainStreamedRequest, timeStreamedRequest, type StreamTarget } from "./support/streamed-request.ts";
import { fixed, printTable, signed } from "./support/table.ts";

const { values } = parseArgs({
  options: {
    part: { type: "string", default: "all" },
    repeats: { type: "string", default: "3" },
    streams: { type: "string", default: "32" },
    tokens: { type: "string", default: "100" },
    "cpu-rounds": { type: "string", default: "3" },
    "interval-ms": { type: "string", default: "2" },
    "ceiling-streams": { type: "string", default: "256" },
    concurrency: { type: "string", default: "1,16,64" },
    requests: { type: "string", default: "32" },
    "max-tokens": { type: "string", default: String(defaultPrompt.maxTokens) },
    "engine-threads": { type: "string" },
    profile: { type: "string" },
    "max-load": { type: "string", default: "1.5" },
    "wait-load-s": { type: "string", default: "120" },
  },
});
const parts = values.part === "all" ? ["cpu", "latency"] : [values.part];
if (parts.some((part) => part !== "cpu" && part !== "latency")) throw new Error(`--part must be cpu, latency or all, not ${values.part}`);
const repeats = Number(values.repeats);
const profileDir = values.profile === undefined ? undefined : resolve(values.profile);

/** The paths, in the order of every table. */
const names = {
  direct: "engine, direct",
  nginx: "nginx",
  pipe: "bare node:http pipe",
  minimal: "undici + res.write",
  engines: "gateway /engines",
  ollama: "gateway /api/chat",
  messages: "gateway /v1/messages",
  responses: "gateway /v1/responses",
} as const;
type PathKey = keyof typeof names;

interface HotPath {
  readonly key: PathKey;
  readonly target: StreamTarget;
  /** The proxy process whose CPU time is this path's cost; none for the engine reached directly. */
  readonly pid?: number;
  /** A Node process started to profile on a signal (`--profile`). */
  readonly profiled: boolean;
}

interface HotPaths {
  readonly paths: readonly HotPath[];
  readonly engine: string;
  close(): Promise<void>;
}

/** What is open now, closed on SIGTERM too, so that a stopped bench leaves no gateway, nginx or proxy behind. */
const openPaths = new Set<() => Promise<void>>();
process.once("SIGTERM", () => void Promise.all([...openPaths].map((close) => close())).finally(() => process.exit(143)));

/**
 * Starts a gateway (its llama-server from `engineEnv`), loads the fixture
 * chat model's runner, and puts the yardsticks in front of that runner.
 */
async function openHotPaths(prompt: BenchPrompt, engineEnv: Record<string, string>): Promise<HotPaths> {
  const profileEnv = profileDir ? cpuProfileEnvironment(profileDir, { onSignal: true }) : {};
  const gateway = await startBenchGateway({ ...engineEnv, ...profileEnv });
  const closers: (() => Promise<unknown>)[] = [() => gateway.stop()];
  const close = async () => {
    openPaths.delete(close);
    await Promise.all(closers.map((closer) => closer().catch((error: Error) => console.error(`closing: ${error.message}`))));
  };
  openPaths.add(close);
  try {
    const client = new Agent({ keepAliveTimeout: 60_000 });
    closers.push(() => client.close());
    if (values["engine-threads"] !== undefined) await configureThreads(gateway.url, Number(values["engine-threads"]));
    const openAI = openAIChatBody(prompt);
    const onGateway = (path: string, format: StreamTarget["format"], body: string) => ({ url: `${gateway.url}${path}`, dispatcher: client, format, body });
    const engines = onGateway("/engines/v1/chat/completions", "sse", openAI);
    await timeStreamedRequest({ name: names.engines, ...engines }); // loads the runner
    const runner = await runnerCommand(gateway);
    const runnerDispatcher = new Agent({ connect: { socketPath: runner.socket }, keepAliveTimeout: 60_000 });
    closers.push(() => runnerDispatcher.close());
    const started = async (starting: Promise<ProxyProcess>) => {
      const proxy = await starting;
      closers.push(() => proxy.stop());
      return proxy;
    };
    const nginx = await started(startNginx(nginxBinary, runner.socket));
    const pipe = await started(startBarePipe(runner.socket, profileEnv));
    const minimal = await started(startMinimalProxy(runner.socket, profileEnv));
    const chat = (url: string) => ({ url: `${url}/v1/chat/completions`, dispatcher: client, format: "sse" as const, body: openAI });
    const pid = gateway.child.pid!;
    const profiled = profileDir !== undefined;
    const paths: HotPath[] = [
      { key: "direct", target: { name: names.direct, url: "http://engine/v1/chat/completions", dispatcher: runnerDispatcher, format: "sse", body: openAI }, profiled: false },
      { key: "nginx", target: { name: names.nginx, ...chat(nginx.url) }, pid: nginx.pid, profiled: false },
      { key: "pipe", target: { name: names.pipe, ...chat(pipe.url) }, pid: pipe.pid, profiled },
      { key: "minimal", target: { name: names.minimal, ...chat(minimal.url) }, pid: minimal.pid, profiled },
      { key: "engines", target: { name: names.engines, ...engines }, pid, profiled },
      { key: "ollama", target: { name: names.ollama, ...onGateway("/api/chat", "ndjson", ollamaChatBody(prompt)) }, pid, profiled },
      { key: "messages", target: { name: names.messages, ...onGateway("/v1/messages", "anthropic", anthropicMessagesBody(prompt)) }, pid, profiled },
      { key: "responses", target: { name: names.responses, ...onGateway("/v1/responses", "responses", responsesBody(prompt)) }, pid, profiled },
    ];
    return { paths, engine: `${runner.binary} ${runner.args.join(" ")}`, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Per path: microseconds of its proxy's CPU per token, one figure per repetition. */
type CpuCosts = Map<PathKey, number[]>;

async function benchCpu(): Promise<CpuCosts> {
  const streams = Number(values.streams);
  const tokens = Number(values.tokens);
  const rounds = Number(values["cpu-rounds"]);
  const standIn = fileURLToPath(new URL("support/llama-server-stand-in.mjs", import.meta.url));
  const hot = await openHotPaths({ ...defaultPrompt, maxTokens: tokens }, { LLAMA_SERVER_PATH: standIn, LLAMA_STAND_IN_INTERVAL_MS: values["interval-ms"] });
  const costs: CpuCosts = new Map();
  const shortStreams = new Map<PathKey, number>();
  const utilisation = new Map<PathKey, number[]>();
  const syscalls = new Map<PathKey, { reads: number; writes: number; tokens: number }>();
  const mainThread = new Map<PathKey, number[]>();
  try {
    const proxied = hot.paths.filter((path) => path.pid !== undefined);
    const batch = async (path: HotPath) => {
      const timings = await Promise.all(Array.from({ length: streams }, () => timeOrCountFailure(path.target)));
      let received = 0;
      for (const timing of timings) {
        received += timing?.tokens ?? 0;
        if (timing?.tokens !== tokens) shortStreams.set(path.key, (shortStreams.get(path.key) ?? 0) + 1);
      }
      return received;
    };
    const warmUpBatches = warmUpRounds(streams, tokens, rounds);
    for (const path of proxied) for (let round = 0; round < warmUpBatches; round++) await batch(path); // warms each path up; not counted
    await sleep(settleMs); // what the compiler and GC threads still do for the warm-up is not the first measured path's
    shortStreams.clear();
    const loadBefore = loadAverageText();
    for (let repeat = 0; repeat < repeats; repeat++) {
      // Batch by batch, the paths in turn: a moment when the machine is slower weighs on every path alike.
      const sums = new Map<PathKey, { cpuNs: number; mainNs: number; wallMs: number; received: number; reads: number; writes: number }>();
      for (let round = 0; round < rounds; round++) {
        for (let turn = 0; turn < proxied.length; turn++) {
          const path = proxied[(repeat + round + turn) % proxied.length]!;
          const callsBefore = processSyscalls(path.pid!);
          const cpuBefore = processCpuNs(path.pid!);
          const mainBefore = mainThreadCpuNs(path.pid!);
          const wallBefore = performance.now();
          const received = await batch(path);
          const calls = processSyscalls(path.pid!);
          const sum = sums.get(path.key) ?? { cpuNs: 0, mainNs: 0, wallMs: 0, received: 0, reads: 0, writes: 0 };
          sums.set(path.key, {
            cpuNs: sum.cpuNs + processCpuNs(path.pid!) - cpuBefore,
            mainNs: sum.mainNs + mainThreadCpuNs(path.pid!) - mainBefore,
            wallMs: sum.wallMs + performance.now() - wallBefore,
            received: sum.received + received,
            reads: sum.reads + calls.reads - callsBefore.reads,
            writes: sum.writes + calls.writes - callsBefore.writes,
          });
        }
      }
      for (const [key, sum] of sums) {
        costs.set(key, [...(costs.get(key) ?? []), sum.cpuNs / 1000 / sum.received]);
        mainThread.set(key, [...(mainThread.get(key) ?? []), sum.mainNs / 1000 / sum.received]);
        utilisation.set(key, [...(utilisation.get(key) ?? []), sum.cpuNs / 1e6 / sum.wallMs]);
        const counted = syscalls.get(key) ?? { reads: 0, writes: 0, tokens: 0 };
        syscalls.set(key, { reads: counted.reads + sum.reads, writes: counted.writes + sum.writes, tokens: counted.tokens + sum.received });
      }
    }
    console.log(`\n## CPU per streamed token: ${streams} concurrent streams of ${tokens} tokens, one every ${values["interval-ms"]} ms, ${rounds} batches per path per repetition after ${warmUpBatches} to warm up, ${repeats} repetitions (load average ${loadBefore} before, ${loadAverageText()} after)\n`);
    console.log(`engine: a zero-compute stand-in for llama-server: ${hot.engine}\n`);
    const pipe = median(costs.get("pipe") ?? []);
    printTable(
      ["path", "µs/token", "spread", "× bare pipe", "of which the main thread", "tokens/s at 100% of a core", "proxy CPU while streaming", "reads, writes per token", "short or failed streams"],
      proxied.map(({ key }) => {
        const perToken = costs.get(key)!;
        const calls = syscalls.get(key)!;
        return [
          names[key],
          fixed(median(perToken), 1),
          spread(perToken, 1),
          fixed(median(perToken) / pipe, 2),
          fixed(median(mainThread.get(key)!), 1),
          fixed(1e6 / median(perToken), 0),
          `${fixed(100 * median(utilisation.get(key)!), 0)}%`,
          `${fixed(calls.reads / calls.tokens, 2)}, ${fixed(calls.writes / calls.tokens, 2)}`,
          String(shortStreams.get(key) ?? 0),
        ];
      }),
    );
    await measureCeiling(proxied.filter((path) => ceilingPaths.includes(path.key)), tokens);
    if (profileDir) await profileCpu(hot.paths.filter((path) => path.profiled), rounds, batch);
  } finally {
    await hot.close();
  }
  return costs;
}

/**
 * Batches that warm a path up before it is measured: enough for ~500
 * requests, so that its JIT and GC have settled (about a third of a short
 * request's CPU is on those threads, and a few batches left it on the first
 * path measured), but no more than ~10 000 tokens' worth, so that long
 * streams take barely longer; never fewer than the measured rounds.
 */
function warmUpRounds(streams: number, tokens: number, rounds: number): number {
  const requests = Math.min(500, Math.ceil(10_000 / tokens));
  return Math.max(rounds, Math.ceil(requests / streams));
}

const settleMs = 500;

/** The paths whose single-process ceiling is measured. */
const ceilingPaths: readonly PathKey[] = ["pipe", "engines", "ollama"];

/**
 * What one process forwards at most: so many streams at once (each read
 * without parsing, so the client is not the limit) that the proxy process
 * cannot keep up; tokens per second of wall time, and its CPU meanwhile.
 */
async function measureCeiling(paths: readonly HotPath[], tokens: number): Promise<void> {
  const streams = Number(values["ceiling-streams"]);
  const rows: string[][] = [];
  for (const path of paths) {
    const cpuBefore = processCpuNs(path.pid!);
    const wallBefore = performance.now();
    let received = 0;
    for (let round = 0; round < 2; round++) {
      const counts = await Promise.all(Array.from({ length: streams }, () => drainStreamedRequest(path.target).catch(() => 0)));
      received += counts.reduce((sum, count) => sum + count, 0);
    }
    const seconds = (performance.now() - wallBefore) / 1000;
    const busy = (processCpuNs(path.pid!) - cpuBefore) / 1e9 / seconds;
    rows.push([names[path.key], fixed(received / seconds, 0), `${fixed(100 * busy, 0)}%`, fixed(received / seconds / busy, 0), `${received} of ${2 * streams * tokens}`]);
  }
  console.log(`\n## single-process ceiling: ${streams} concurrent streams of ${tokens} tokens, twice, offered one token every ${values["interval-ms"]} ms each (load average ${loadAverageText()})\n`);
  printTable(["path", "tokens/s forwarded", "proxy CPU (one core = 100%)", "tokens/s per core busy", "tokens received"], rows);
}

/** Profiles each Node path alone, for as many batches as one measurement, and prints where its CPU went per token. */
async function profileCpu(paths: readonly HotPath[], rounds: number, batch: (path: HotPath) => Promise<number>): Promise<void> {
  console.log(`\n## where the CPU goes, per path (V8 profiles, sampled every 100 µs; the profiler's own cost inflates every figure a little)`);
  for (const path of paths) {
    let received = 0;
    const file = await profileWhile(path.pid!, profileDir!, async () => {
      for (let round = 0; round < rounds; round++) received += await batch(path);
    });
    await printCpuProfileSummary(file, { tokens: received, top: 15, title: `### ${names[path.key]} (${file})` });
  }
}

/** Per concurrency, per path: one measurement per repetition. */
type Latencies = Map<number, Map<PathKey, TargetMeasurements[]>>;

async function benchLatency(): Promise<Latencies> {
  const concurrencies = values.concurrency.split(",").map(Number);
  const prompt = { ...defaultPrompt, maxTokens: Number(values["max-tokens"]) };
  const hot = await openHotPaths(prompt, {});
  const latencies: Latencies = new Map(concurrencies.map((concurrency) => [concurrency, new Map()]));
  try {
    const targets = hot.paths.map((path) => path.target);
    const keyOf = new Map(hot.paths.map((path) => [path.target.name, path.key]));
    const pidOf = new Map(hot.paths.map((path) => [path.target.name, path.pid]));
    // Each proxy's own CPU per request against the real engine: what it takes from the engine's cores while it serves.
    const cpuNsOf = (target: StreamTarget) => {
      const pid = pidOf.get(target.name);
      return pid === undefined ? undefined : processCpuNs(pid);
    };
    await warmUp(targets, 3);
    failedRequests.clear(); // counted for this part alone
    closedConnections.clear();
    const loadBefore = loadAverageText();
    for (let repeat = 0; repeat < repeats; repeat++) {
      for (const concurrency of concurrencies) {
        if (repeat === 0) await compareInterleaved(targets, { concurrency, rounds: 1, cpuNsOf }); // warms this concurrency up; not reported
        const rounds = Math.max(2, Math.ceil(Number(values.requests) / concurrency));
        console.error(`latency: repetition ${repeat + 1} of ${repeats}, concurrency ${concurrency}, ${rounds} rounds (${fixed((performance.now() - startedAt) / 1000, 0)} s so far)`);
        for (const result of await compareInterleaved(targets, { concurrency, rounds, cpuNsOf })) {
          const byPath = latencies.get(concurrency)!;
          const key = keyOf.get(result.target.name)!;
          byPath.set(key, [...(byPath.get(key) ?? []), result]);
        }
      }
    }
    console.log(`\n## latency: ${prompt.maxTokens} tokens per request, the real llama-server, ${repeats} repetitions of the sweep; median of the repetitions (min–max); ms (load average ${loadBefore} before, ${loadAverageText()} after)\n`);
    console.log(`engine: ${hot.engine}`);
    for (const [concurrency, byPath] of latencies) {
      const rounds = Math.max(2, Math.ceil(Number(values.requests) / concurrency));
      console.log(`\n### concurrency ${concurrency}: ${rounds} rounds of ${concurrency} per path per repetition\n`);
      const direct = byPath.get("direct")!;
      const pipe = byPath.get("pipe")!;
      printTable(
        ["path", "TTFT p50", "TTFT p99", "+TTFT p50 vs direct", "+TTFT p50 vs pipe", "total p50", "total × direct", "total × pipe", "proxy CPU µs/request", "resent", "failed"],
        [...byPath].map(([key, results]) => {
          const name = names[key];
          return [
            name,
            spread(results.map(ttft(0.5)), 2, true),
            spread(results.map(ttft(0.99)), 2, true),
            spread(differences(results, direct, ttft(0.5)), 2, true, true),
            spread(differences(results, pipe, ttft(0.5)), 2, true, true),
            spread(results.map(total), 1, true),
            spread(ratios(results, direct, total), 3, true),
            spread(ratios(results, pipe, total), 3, true),
            cpuMeasured(results) ? spread(results.map(cpuPerRequest), 0, true) : "–",
            String(closedConnections.get(name) ?? 0),
            String(failedRequests.get(name) ?? 0),
          ];
        }),
      );
    }
  } finally {
    await hot.close();
  }
  return latencies;
}

/** Whether a path's CPU was read at all: the engine reached directly has no proxy to read. */
function cpuMeasured(results: readonly TargetMeasurements[]): boolean {
  return results.some((result) => result.roundCpuUs.some(Number.isFinite));
}

/** A repetition's proxy CPU per request: the median of its rounds. */
function cpuPerRequest(result: TargetMeasurements): number {
  return median(result.roundCpuUs.filter(Number.isFinite));
}

/** The README's table: CPU per token against the pipe, added TTFT at concurrency 1, total time against the engine at each concurrency. */
function printSummary(cpu: CpuCosts | undefined, latency: Latencies | undefined): void {
  console.log(`\n## summary (medians of ${repeats} repetitions; CPU with the stand-in engine, latency with llama-server)\n`);
  const concurrencies = [...(latency?.keys() ?? [])];
  const pipeCpu = median(cpu?.get("pipe") ?? []);
  const first = latency?.get(concurrencies[0]!);
  const headers = [
    "path",
    ...(cpu ? ["CPU µs/token", "× pipe"] : []),
    ...(first ? [`+TTFT p50 vs pipe (c=${concurrencies[0]})`, `proxy CPU/request × pipe (c=${concurrencies[0]}, llama-server)`] : []),
    ...concurrencies.map((concurrency) => `total × direct (c=${concurrency})`),
  ];
  const rows = (Object.keys(names) as PathKey[]).map((key) => {
    const perToken = cpu?.get(key);
    return [
      names[key],
      ...(cpu ? [perToken ? fixed(median(perToken), 1) : "–", perToken ? fixed(median(perToken) / pipeCpu, 2) : "–"] : []),
      ...(first
        ? [
            signed(median(differences(first.get(key)!, first.get("pipe")!, ttft(0.5))), 2),
            cpuMeasured(first.get(key)!) ? fixed(median(ratios(first.get(key)!, first.get("pipe")!, cpuPerRequest)), 2) : "–",
          ]
        : []),
      ...concurrencies.map((concurrency) => {
        const byPath = latency!.get(concurrency)!;
        return fixed(median(ratios(byPath.get(key)!, byPath.get("direct")!, total)), 3);
      }),
    ];
  });
  printTable(headers, rows);
}

const ascending = (a: number, b: number) => a - b;
const ttft = (q: number) => (result: TargetMeasurements) => quantile(result.timings.map((timing) => timing.ttftMs).sort(ascending), q);
const total = (result: TargetMeasurements) => median(result.timings.map((timing) => timing.totalMs));

/** Per repetition: `figure(subject) − figure(reference)`. */
function differences(subject: readonly TargetMeasurements[], reference: readonly TargetMeasurements[], figure: (result: TargetMeasurements) => number): number[] {
  return subject.map((result, repeat) => figure(result) - figure(reference[repeat]!));
}

/** Per repetition: `figure(subject) / figure(reference)`. */
function ratios(subject: readonly TargetMeasurements[], reference: readonly TargetMeasurements[], figure: (result: TargetMeasurements) => number): number[] {
  return subject.map((result, repeat) => figure(result) / figure(reference[repeat]!));
}

/** "median (min–max)" of the repetitions, or the spread alone; one repetition shows its figure alone. */
function spread(values: readonly number[], decimals: number, withMedian = false, sign = false): string {
  const format = (value: number) => (sign ? signed(value, decimals) : fixed(value, decimals));
  const { min, max } = summarize(values);
  if (values.length < 2) return withMedian ? format(median(values)) : "–";
  const range = sign ? `${format(min)} … ${format(max)}` : `${format(min)}–${format(max)}`;
  return withMedian ? `${format(median(values))} (${range})` : range;
}

const startedAt = performance.now();
const nginxBinary = await ensureNginx();
await ensureFixtureModels({ onProgress: (line) => console.error(line) });
if (parts.includes("latency")) await ensureLlamaServer({ onProgress: ({ stage, message }) => console.error(`[llama-server ${stage}] ${message}`) });
if (profileDir) await mkdir(profileDir, { recursive: true });
// Once, before the bench adds load of its own.
await waitForQuietMachine(Number(values["max-load"]), Number(values["wait-load-s"]) * 1000);
const loadAtStart = loadAverageText();
console.log(`# hot path: ${new Date().toISOString()}, load average ${loadAtStart} at start`);
console.log(`${cpus().length} × ${cpus()[0]?.model ?? "CPU"}; Node ${process.version}; ${await nginxVersion(nginxBinary)} (one process)`);

const cpuCosts = parts.includes("cpu") ? await benchCpu() : undefined;
const latencies = parts.includes("latency") ? await benchLatency() : undefined;
printSummary(cpuCosts, latencies);
console.log(`\n(load average ${loadAtStart} at start, ${loadAverageText()} at the end; ${fixed((performance.now() - startedAt) / 1000, 0)} s in all)`);
