/**
 * `node --import tsx bench/load.ts [--clients 256] [--minutes 10] [--sample-seconds 10] [--tokens 8]`
 *
 * The soak: the real gateway process with `tiny` and `tiny-embed` loaded,
 * and N clients that each send one request after another until the time is
 * up, mixed across `/api/chat`, `/api/generate`, `/engines/v1/chat/completions`
 * (raw and through the openai client) and `/api/embed` (ollama-js); every
 * reply is checked whole, as the load test checks it. Every sample interval
 * it reads the gateway's resident memory from /proc and its event-loop delay
 * from /metrics. Reports requests and failures by kind, the gateway's peak
 * RSS and its growth over the soak (first sample to last), and the
 * event-loop delay (the median of the samples' p50, the worst p99).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { assertRepliesAgree, gatewayHealth, loadClients, loadKinds, residentMemoryKiB, type LoadKind, type LoadReply } from "../test/support/load-clients.ts";
import { startBenchGateway } from "./support/bench-gateway.ts";
import { loadAverageText } from "./support/machine-load.ts";
import { median } from "./support/statistics.ts";
import { fixed, printTable } from "./support/table.ts";

const { values } = parseArgs({
  options: {
    clients: { type: "string", default: "256" },
    minutes: { type: "string", default: "10" },
    "sample-seconds": { type: "string", default: "10" },
    tokens: { type: "string", default: "8" },
  },
});
const clients = Number(values.clients);
const durationMs = Number(values.minutes) * 60_000;
const sampleMs = Number(values["sample-seconds"]) * 1000;
const numPredict = Number(values.tokens);

interface Sample {
  readonly atS: number;
  readonly rssMiB: number;
  readonly peakMiB: number;
  readonly lagP50Ms: number;
  readonly lagP99Ms: number;
  readonly requests: number;
}

const gateway = await startBenchGateway({ MODELGATE_MAX_QUEUE: String(2 * clients) });
try {
  const client = loadClients(gateway.url, numPredict);
  // Warm: both runners loaded, and the reply each kind must agree on.
  const expected = new Map<LoadKind, LoadReply>();
  for (const kind of loadKinds) expected.set(kind, await client.run(kind));

  const counts = new Map(loadKinds.map((kind) => [kind, { ok: 0, failed: 0 }]));
  const failures: string[] = [];
  const pid = gateway.child.pid!;
  const started = performance.now();
  const deadline = started + durationMs;
  const seconds = () => (performance.now() - started) / 1000;
  console.log(`${clients} clients for ${values.minutes} min, ${numPredict} tokens a request; load average ${loadAverageText()}`);

  const runClient = async (index: number) => {
    for (let round = 0; performance.now() < deadline; round++) {
      const kind = loadKinds[(index + round) % loadKinds.length]!;
      try {
        assertRepliesAgree(kind, expected.get(kind)!, await client.run(kind));
        counts.get(kind)!.ok += 1;
      } catch (error) {
        counts.get(kind)!.failed += 1;
        if (failures.length < 5) failures.push(`${kind} at ${seconds().toFixed(0)} s: ${String(error).slice(0, 300)}`);
      }
    }
  };

  const samples: Sample[] = [];
  const sampling = (async () => {
    await gatewayHealth(gateway.url); // restarts the event-loop histogram
    while (performance.now() < deadline) {
      await sleep(Math.min(sampleMs, Math.max(0, deadline - performance.now())));
      const [memory, health] = await Promise.all([residentMemoryKiB(pid), gatewayHealth(gateway.url)]);
      const requests = [...counts.values()].reduce((sum, count) => sum + count.ok + count.failed, 0);
      const sample = {
        atS: seconds(),
        rssMiB: memory.rss / 1024,
        peakMiB: memory.peak / 1024,
        lagP50Ms: health.eventLoopDelay.p50 * 1000,
        lagP99Ms: health.eventLoopDelay.p99 * 1000,
        requests,
      };
      samples.push(sample);
      console.log(
        `${fixed(sample.atS, 0).padStart(5)} s  ${String(requests).padStart(7)} requests  RSS ${fixed(sample.rssMiB, 0)} MiB (peak ${fixed(sample.peakMiB, 0)})  ` +
          `event-loop delay p50 ${fixed(sample.lagP50Ms, 1)} ms p99 ${fixed(sample.lagP99Ms, 1)} ms`,
      );
    }
  })();
  await Promise.all([...Array.from({ length: clients }, (_, index) => runClient(index)), sampling]);
  const elapsedS = seconds();

  console.log();
  printTable(
    ["kind", "requests", "failed", "per s"],
    [...counts].map(([kind, count]) => [kind, String(count.ok + count.failed), String(count.failed), fixed((count.ok + count.failed) / elapsedS, 1)]),
  );
  const total = [...counts.values()].reduce((sum, count) => ({ ok: sum.ok + count.ok, failed: sum.failed + count.failed }), { ok: 0, failed: 0 });
  const first = samples[0];
  const last = samples.at(-1);
  console.log();
  printTable(
    ["figure", "value"],
    [
      ["requests", String(total.ok + total.failed)],
      ["failed", String(total.failed)],
      ["requests per second", fixed((total.ok + total.failed) / elapsedS, 1)],
      ["gateway peak RSS, MiB", fixed(last?.peakMiB ?? NaN, 0)],
      ["gateway RSS first → last sample, MiB", `${fixed(first?.rssMiB ?? NaN, 0)} → ${fixed(last?.rssMiB ?? NaN, 0)}`],
      ["RSS growth first → last sample, MiB", fixed((last?.rssMiB ?? NaN) - (first?.rssMiB ?? NaN), 0)],
      ["event-loop delay p50 (median of samples), ms", fixed(median(samples.map((s) => s.lagP50Ms)), 1)],
      ["event-loop delay p99 (worst sample), ms", fixed(Math.max(...samples.map((s) => s.lagP99Ms)), 1)],
      ["load average at the end", loadAverageText()],
    ],
  );
  for (const failure of failures) console.log(`failure: ${failure}`);
  process.exitCode = total.failed === 0 ? 0 : 1;
} finally {
  await gateway.stop();
}
