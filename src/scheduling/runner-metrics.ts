import { Counter, Gauge, type Registry } from "prom-client";
import { request, type Dispatcher } from "undici";
import type { RunnerInfo } from "./loader.ts";
import { parsePrometheusText, type PrometheusFamily } from "./prometheus-text.ts";

export interface RunnerMetrics {
  /**
   * Reads the metrics a runner exposes and registers the families not seen
   * before, so scrapes from then on carry them. Once per runner process.
   */
  learn(runner: Pick<RunnerInfo, "backend" | "dispatcher">): Promise<void>;
}

/** One series of a runner, labelled with the model and mode it serves. */
interface RunnerSample {
  readonly labels: Record<string, string>;
  readonly value: number;
}

const fetchTimeoutMs = 2_000;

/**
 * Each runner's own metrics (llama-server runs with `--metrics`) on
 * `registry`, fetched over the runner's socket at scrape time and relabelled
 * with `model` and `mode`. Names keep the engine's namespace (`llamacpp:…`,
 * `vllm:…`); a name without one gets the backend's, so none clashes with the
 * gateway's own. Counters stay counters; a histogram's or summary's parts
 * become gauges of their own (prom-client cannot be handed buckets).
 */
export function createRunnerMetrics(registry: Registry, runners: () => readonly RunnerInfo[]): RunnerMetrics {
  const learned = new WeakSet<Dispatcher>();
  let inFlight: Promise<Map<string, RunnerSample[]>> | undefined;

  // A scrape collects every family at once: they share one round of requests to the runners.
  const samples = (): Promise<Map<string, RunnerSample[]>> => {
    inFlight ??= collectAll().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };

  const collectAll = async (): Promise<Map<string, RunnerSample[]>> => {
    const bySeries = new Map<string, RunnerSample[]>();
    const ready = runners().filter((runner) => runner.phase === "ready");
    const scraped = await Promise.all(ready.map(async (runner) => ({ runner, families: await scrape(runner.dispatcher) })));
    for (const { runner, families } of scraped) {
      for (const family of families) {
        for (const sample of family.samples) {
          const name = exportedName(sample.name, runner.backend);
          const list = bySeries.get(name) ?? [];
          list.push({ labels: { ...sample.labels, model: runner.model, mode: runner.mode }, value: sample.value });
          bySeries.set(name, list);
        }
      }
    }
    return bySeries;
  };

  const register = (backend: string, family: PrometheusFamily): void => {
    for (const sampleName of new Set(family.samples.map((sample) => sample.name))) {
      const name = exportedName(sampleName, backend);
      if (registry.getSingleMetric(name)) continue;
      const engineLabels = family.samples.filter((s) => s.name === sampleName).flatMap((s) => Object.keys(s.labels));
      const labelNames = [...new Set(["model", "mode", ...engineLabels])];
      const fits = (labels: Record<string, string>) => Object.keys(labels).every((label) => labelNames.includes(label));
      const help = family.help || `${sampleName}, as the runner reports it`;
      if (family.type === "counter") {
        new Counter({
          name, help, labelNames, registers: [registry],
          async collect() {
            this.reset();
            for (const { labels, value } of (await samples()).get(name) ?? []) if (fits(labels) && value >= 0) this.inc(labels, value);
          },
        });
      } else {
        new Gauge({
          name, help, labelNames, registers: [registry],
          async collect() {
            this.reset();
            for (const { labels, value } of (await samples()).get(name) ?? []) if (fits(labels)) this.set(labels, value);
          },
        });
      }
    }
  };

  return {
    async learn(runner) {
      if (learned.has(runner.dispatcher)) return;
      learned.add(runner.dispatcher);
      for (const family of await scrape(runner.dispatcher)) register(runner.backend, family);
    },
  };
}

/** The runner's `/metrics`, or nothing when it has none or does not answer in time. */
async function scrape(dispatcher: Dispatcher): Promise<PrometheusFamily[]> {
  try {
    const signal = AbortSignal.timeout(fetchTimeoutMs);
    const { statusCode, body } = await request("http://runner/metrics", { dispatcher, signal });
    const text = await body.text();
    return statusCode === 200 ? parsePrometheusText(text) : [];
  } catch {
    return [];
  }
}

/**
 * @example exportedName("llamacpp:prompt_tokens_total", "llama.cpp") // "llamacpp:prompt_tokens_total"
 * @example exportedName("process_cpu_seconds_total", "vllm") // "vllm:process_cpu_seconds_total"
 */
export function exportedName(sampleName: string, backend: string): string {
  return sampleName.includes(":") ? sampleName : `${backend.replace(/[^a-zA-Z0-9_]/g, "_")}:${sampleName}`;
}
