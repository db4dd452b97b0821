import { median } from "./statistics.ts";

export interface MicroBenchmarkResult {
  /** Nanoseconds per operation, the median of the samples. */
  readonly medianNs: number;
  /** The fastest sample's nanoseconds per operation: the cost with the least interference. */
  readonly minNs: number;
  readonly samples: number;
  readonly operationsPerSample: number;
}

/**
 * Times `run(count)`, which performs `count` operations and returns a value
 * derived from them (kept, so the work cannot be optimised away). Warms up
 * first, sizes a sample to about `sampleMs`, then takes `samples` samples.
 */
export function microBenchmark(run: (count: number) => unknown, options: { samples?: number; sampleMs?: number } = {}): MicroBenchmarkResult {
  const { samples = 15, sampleMs = 200 } = options;
  const sink: unknown[] = [];
  let count = 16;
  // Warm-up doubles as calibration: grow the batch until it takes long enough.
  for (;;) {
    const started = process.hrtime.bigint();
    sink.push(run(count));
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (ms >= sampleMs / 4) {
      count = Math.max(1, Math.round((count * sampleMs) / ms));
      break;
    }
    count *= 2;
  }
  const perOperation: number[] = [];
  for (let i = 0; i < samples; i++) {
    const started = process.hrtime.bigint();
    sink.push(run(count));
    perOperation.push(Number(process.hrtime.bigint() - started) / count);
  }
  if (sink.length === 0) throw new Error("unreachable: keeps the results alive");
  return { medianNs: median(perOperation), minNs: Math.min(...perOperation), samples, operationsPerSample: count };
}
