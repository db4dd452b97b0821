/**
 * `node --import tsx bench/memory.ts [--streams 64] [--lines 200] [--settle-seconds 5] [--baseline DIR]`
 *
 * The gateway's memory, in one run, against bare Node: resident memory
 * (RSS, from /proc) and V8's heap in use (from /metrics), idle with the demo
 * models registered, then with N open `/api/chat` streams, per stream. Each
 * way of running it is measured: `npm start` (bin/modelgate.mjs: dist/ when
 * the build is fresh) and the TypeScript sources through tsx; and the
 * modules alone, imported and nothing started, both ways.
 *
 * Figures "after GC" follow a full collection asked through the inspector
 * (the gateway runs with `--inspect` on a free loopback port, which costs
 * it no measurable memory), so that garbage not yet collected is not
 * counted per stream.
 *
 * Each stream is measured once it has sent `--lines` NDJSON lines (long
 * enough for whatever a stream keeps of its past). `--baseline DIR` also
 * (repeatable) also measures the gateway of another checkout (say, main's)
 * in the same run.
 *
 * The streams come from a stand-in engine (bench/support/slow-engine.ts, one
 * word every 20 ms), served as an external engine through the same runner
 * proxy as llama-server: they stay open as long as needed and cost no CPU.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { WebSocket } from "undici";
import { compiledEntry } from "../bin/compiled-entry.mjs";
import { parsePrometheusText } from "../src/scheduling/prometheus-text.ts";
import { residentMemoryKiB } from "../test/support/load-clients.ts";
import { startBenchGateway } from "./support/bench-gateway.ts";
import { loadAverageText } from "./support/machine-load.ts";
import { startSlowEngine } from "./support/slow-engine.ts";
import { median } from "./support/statistics.ts";
import { fixed, printTable } from "./support/table.ts";

const { values } = parseArgs({
  options: {
    streams: { type: "string", default: "64" },
    lines: { type: "string", default: "200" },
    baseline: { type: "string", multiple: true },
    "settle-seconds": { type: "string", default: "5" },
  },
});
const streamCount = Number(values.streams);
const linesPerStream = Number(values.lines);
const settleMs = Number(values["settle-seconds"]) * 1000;

const root = new URL("..", import.meta.url).pathname;
const sources = join(root, "src/cli/main.ts");
const built = compiledEntry() !== undefined;
const MiB = 1024 * 1024;

/** RSS in MiB: the median of three readings a second apart. */
async function settledRss(pid: number): Promise<number> {
  const readings: number[] = [];
  for (let i = 0; i < 3; i++) {
    if (i > 0) await sleep(1000);
    readings.push((await residentMemoryKiB(pid)).rss / 1024);
  }
  return median(readings);
}

/** A Node process that runs `code` (an ES module) and then idles: its RSS once settled. */
async function idleProcessRss(nodeArgs: readonly string[], code: string): Promise<number> {
  const child = spawn(process.execPath, [...nodeArgs, "--input-type=module", "-e", `${code}\nconsole.log("ready");\nsetInterval(() => {}, 1 << 30);`], {
    cwd: root,
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on("data", (data: Buffer) => data.includes("ready") && resolve());
      child.once("exit", (code) => reject(new Error(`exited with ${code}`)));
    });
    await sleep(settleMs);
    return await settledRss(child.pid!);
  } finally {
    child.kill();
  }
}

async function heapUsedMiB(url: string): Promise<number> {
  const families = parsePrometheusText(await (await fetch(`${url}/metrics`)).text());
  const sample = families.flatMap((family) => family.samples).find((s) => s.name === "nodejs_heap_size_used_bytes");
  return (sample?.value ?? NaN) / MiB;
}

/** An open `/api/chat` stream on the stand-in; resolves once `lines` NDJSON lines have arrived. */
function openStream(url: string, model: string, signal: AbortSignal, lines: number): Promise<void> {
  return (async () => {
    const response = await fetch(`${url}/api/chat`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model, messages: [{ role: "user", content: "Say something." }], options: { num_predict: 100_000 } }),
      signal,
    });
    if (!response.ok) throw new Error(`/api/chat: HTTP ${response.status}: ${await response.text()}`);
    const reader = response.body!.getReader();
    let seen = 0;
    let resolved = false;
    return new Promise<void>((resolve, reject) => {
      const pump = async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return resolved ? undefined : reject(new Error("the stream ended early"));
          for (const byte of value) if (byte === 10) seen += 1;
          if (!resolved && seen >= lines) {
            resolved = true;
            resolve();
          }
        }
      };
      pump().catch((error: unknown) => (resolved ? undefined : reject(error as Error)));
    });
  })();
}

/** A debugger session on the gateway, only to ask for full garbage collections. */
async function inspectorSession(gateway: { logs: Record<string, unknown>[] }): Promise<{ collectGarbage(): Promise<void>; close(): void }> {
  const line = gateway.logs.map((entry) => String(entry.msg)).find((msg) => msg.startsWith("Debugger listening on "));
  const url = line?.slice("Debugger listening on ".length).trim();
  if (!url) throw new Error("the gateway did not say where its inspector listens");
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => {
    socket.addEventListener("open", resolve, { once: true });
    socket.addEventListener("error", reject, { once: true });
  });
  let id = 0;
  return {
    async collectGarbage() {
      const asked = ++id;
      const answered = new Promise<void>((resolve) => {
        const onMessage = (event: { data: unknown }) => {
          if ((JSON.parse(String(event.data)) as { id?: number }).id !== asked) return;
          socket.removeEventListener("message", onMessage);
          resolve();
        };
        socket.addEventListener("message", onMessage);
      });
      socket.send(JSON.stringify({ id: asked, method: "HeapProfiler.collectGarbage" }));
      await answered;
    },
    close: () => socket.close(),
  };
}

interface GatewayFigures {
  readonly idleRss: number;
  readonly idleHeap: number;
  readonly idleGcRss: number;
  readonly warmRss: number;
  readonly warmHeap: number;
  readonly openRss: number;
  readonly openHeap: number;
}

async function measureGateway(entry: readonly string[], engineUrl: string, model: string, home?: string): Promise<GatewayFigures> {
  const engines = JSON.stringify({ engines: [{ name: "bench", urls: [engineUrl], prefix: "bench/" }] });
  const gateway = await startBenchGateway({ MODELGATE_EXTERNAL_ENGINES: engines }, { entry: ["--inspect=127.0.0.1:0", ...entry], ...(home ? { home } : {}) });
  const pid = gateway.child.pid!;
  const name = `bench/${model}`;
  const inspector = await inspectorSession(gateway);
  const collected = async () => {
    await inspector.collectGarbage();
    return settledRss(pid);
  };
  try {
    await sleep(settleMs);
    const idleRss = await settledRss(pid);
    const idleHeap = await heapUsedMiB(gateway.url);
    const idleGcRss = await collected();
    // One stream first, so code that loads on first use is not counted per stream.
    const warmUp = new AbortController();
    await openStream(gateway.url, name, warmUp.signal, 3);
    warmUp.abort();
    await sleep(settleMs);
    const warmRss = await collected();
    const warmHeap = await heapUsedMiB(gateway.url);
    const open = new AbortController();
    await Promise.all(Array.from({ length: streamCount }, () => openStream(gateway.url, name, open.signal, linesPerStream)));
    const openRss = await collected();
    const openHeap = await heapUsedMiB(gateway.url);
    open.abort();
    return { idleRss, idleHeap, idleGcRss, warmRss, warmHeap, openRss, openHeap };
  } finally {
    inspector.close();
    await gateway.stop();
  }
}

console.log(`load average at the start ${loadAverageText()}; ${streamCount} streams of ${linesPerStream} lines; dist/ ${built ? "built and fresh" : "not built or stale: npm start runs the sources"}`);
const bareRss = await idleProcessRss([], "");
const importRows: string[][] = [["bare Node", fixed(bareRss, 1)]];
importRows.push(["import src/server/gateway.ts through tsx", fixed(await idleProcessRss(["--import", "tsx/esm"], `await import(${JSON.stringify(join(root, "src/server/gateway.ts"))});`), 1)]);
const compiledGateway = join(root, "dist/src/server/gateway.js");
if (built && existsSync(compiledGateway)) {
  importRows.push(["import dist/src/server/gateway.js", fixed(await idleProcessRss([], `await import(${JSON.stringify(compiledGateway)});`), 1)]);
}

const engine = await startSlowEngine(20);
const gatewayRows: string[][] = [];
try {
  const home = await mkdtemp(join(tmpdir(), "modelgate-bench-home-"));
  const npmStart = [built ? "npm start (dist/)" : "npm start (the sources: no fresh dist/)", [join(root, "bin/modelgate.mjs")]] as const;
  // label, node's arguments, MODELGATE_HOME (a fresh one when undefined)
  const runs: (readonly [string, readonly string[], string | undefined])[] = [
    [`${npmStart[0]}, first start`, npmStart[1], home],
    [`${npmStart[0]}, restart (demo models registered before)`, npmStart[1], home],
    ...(built ? [["the sources through tsx, first start", ["--import", "tsx/esm", sources], undefined] as const] : []),
    ...(values.baseline ?? []).map((checkout) => [`${checkout}, first start`, [join(checkout, "bin/modelgate.mjs")], undefined] as const),
  ];
  try {
    for (const [label, entry, runHome] of runs) {
      const figures = await measureGateway(entry, engine.url, engine.model, runHome);
      gatewayRows.push([
        label,
        fixed(figures.idleRss, 1),
        fixed(figures.idleHeap, 1),
        fixed(figures.idleGcRss, 1),
        fixed(figures.warmRss, 1),
        fixed(figures.openRss, 1),
        fixed(((figures.openRss - figures.warmRss) * 1024) / streamCount, 0),
        fixed(((figures.openHeap - figures.warmHeap) * 1024) / streamCount, 0),
      ]);
    }
  } finally {
    await rm(home, { recursive: true, force: true });
  }
} finally {
  await engine.close();
}

console.log();
printTable(["process, idle", "RSS MiB"], importRows);
console.log();
printTable(
  ["gateway", "idle RSS MiB", "idle heap MiB", "idle RSS after GC", "after 1 stream, GC", `${streamCount} open, GC`, "RSS KiB/stream", "heap KiB/stream"],
  gatewayRows,
);
console.log(`\nload average at the end ${loadAverageText()}; a first start registers the demo models in a fresh MODELGATE_HOME; heap is V8's in use, from /metrics`);
