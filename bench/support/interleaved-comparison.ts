import { loadAverageText } from "./machine-load.ts";
import { median, medianPairedDifference, summarize } from "./statistics.ts";
import { closedConnections, timeStreamedRequest, type StreamTarget, type StreamTiming } from "./streamed-request.ts";
import { fixed, printTable, signed } from "./table.ts";

/** Everything measured on one target at one concurrency. */
export interface TargetMeasurements {
  readonly target: StreamTarget;
  /** Every request, round after round. */
  readonly timings: StreamTiming[];
  /**
   * Per round: wall time of its batch of concurrent requests, tokens it
   * generated, and its median TTFT and total; NaN for a batch with a failed
   * request, which would otherwise skew the pairing and the throughput.
   */
  readonly batchMs: number[];
  readonly batchTokens: number[];
  readonly roundTtftMs: number[];
  readonly roundTotalMs: number[];
  /** Per round: the proxy's CPU time per request of its batch, µs (`cpuNsOf`); NaN without one, or for a failed batch. */
  readonly roundCpuUs: number[];
}

export interface ComparisonOptions {
  /** Requests in flight at once on a target (a batch). */
  readonly concurrency: number;
  readonly rounds: number;
  /** The CPU time (ns) so far of the process serving `target`, when one does: read around each of its batches. */
  readonly cpuNsOf?: (target: StreamTarget) => number | undefined;
}

/**
 * Measures targets in turn, round after round: each round sends a batch of
 * `concurrency` requests to every target, one target after the other, the
 * order rotated every round (A B C, B C A, C A B…) so that no target always
 * follows another and slow drifts in the machine's load fall on all alike.
 */
export async function compareInterleaved(
  targets: readonly StreamTarget[],
  { concurrency, rounds, cpuNsOf }: ComparisonOptions,
): Promise<TargetMeasurements[]> {
  const results = targets.map(
    (target) => ({ target, timings: [], batchMs: [], batchTokens: [], roundTtftMs: [], roundTotalMs: [], roundCpuUs: [] }) as TargetMeasurements,
  );
  for (let round = 0; round < rounds; round++) {
    for (let turn = 0; turn < results.length; turn++) {
      const result = results[(round + turn) % results.length]!;
      const cpuBefore = cpuNsOf?.(result.target);
      const started = performance.now();
      const settled = await Promise.all(Array.from({ length: concurrency }, () => timeOrCountFailure(result.target)));
      const batchMs = performance.now() - started;
      const cpuAfter = cpuNsOf?.(result.target);
      const batch = settled.filter((timing) => timing !== undefined);
      const complete = batch.length === settled.length;
      result.timings.push(...batch);
      result.batchMs.push(complete ? batchMs : NaN);
      result.batchTokens.push(complete ? batch.reduce((sum, timing) => sum + timing.tokens, 0) : NaN);
      result.roundTtftMs.push(complete ? median(batch.map((timing) => timing.ttftMs)) : NaN);
      result.roundTotalMs.push(complete ? median(batch.map((timing) => timing.totalMs)) : NaN);
      result.roundCpuUs.push(complete && cpuBefore !== undefined && cpuAfter !== undefined ? (cpuAfter - cpuBefore) / 1000 / concurrency : NaN);
    }
  }
  return results;
}

/** Per target name: requests that failed (left out of every figure), and the first reason of each. */
export const failedRequests = new Map<string, number>();
const reasonsSeen = new Set<string>();

/** A failed request is counted and reported once per reason, not fatal: the run goes on. */
export async function timeOrCountFailure(target: StreamTarget): Promise<StreamTiming | undefined> {
  try {
    return await timeStreamedRequest(target);
  } catch (error) {
    failedRequests.set(target.name, (failedRequests.get(target.name) ?? 0) + 1);
    const reason = error instanceof Error ? error.message : String(error);
    if (!reasonsSeen.has(reason)) console.error(`request failed: ${reason}`);
    reasonsSeen.add(reason);
    return undefined;
  }
}

/** Generated tokens per second of wall time, over a target's complete batches. */
export function throughput(result: TargetMeasurements): number {
  const sum = (values: readonly number[]) => values.filter((value) => !Number.isNaN(value)).reduce((total, value) => total + value, 0);
  return sum(result.batchTokens) / (sum(result.batchMs) / 1000);
}

/** Prints each target's latencies and throughput (milliseconds). */
export function printMeasurements(results: readonly TargetMeasurements[]): void {
  printTable(
    ["path", "requests", "tokens/req", "TTFT p50", "TTFT p90", "TTFT p99", "total p50", "total p99", "tokens/s", "resent", "failed"],
    results.map((result) => {
      const ttft = summarize(result.timings.map((timing) => timing.ttftMs));
      const total = summarize(result.timings.map((timing) => timing.totalMs));
      const tokens = summarize(result.timings.map((timing) => timing.tokens));
      return [
        result.target.name,
        String(ttft.count),
        fixed(tokens.mean, 1),
        fixed(ttft.p50),
        fixed(ttft.p90),
        fixed(ttft.p99),
        fixed(total.p50),
        fixed(total.p99),
        fixed(throughput(result), 0),
        String(closedConnections.get(result.target.name) ?? 0),
        String(failedRequests.get(result.target.name) ?? 0),
      ];
    }),
  );
}

/**
 * Prints what `subject` adds over `reference` (milliseconds): the difference
 * of their percentiles, the median of per-round differences (the figure least
 * moved by the machine's load, since both sides of a pair ran moments apart),
 * and the throughput ratio.
 */
export function printOverheads(results: readonly TargetMeasurements[], pairs: readonly (readonly [subject: string, reference: string])[]): void {
  const byName = new Map(results.map((result) => [result.target.name, result]));
  const rows = pairs.flatMap(([subjectName, referenceName]) => {
    const subject = byName.get(subjectName);
    const reference = byName.get(referenceName);
    if (!subject || !reference) return [];
    const ttft = (result: TargetMeasurements) => summarize(result.timings.map((timing) => timing.ttftMs));
    const total = (result: TargetMeasurements) => summarize(result.timings.map((timing) => timing.totalMs));
    return [
      [
        `${subjectName} − ${referenceName}`,
        signed(ttft(subject).p50 - ttft(reference).p50, 3),
        signed(ttft(subject).p99 - ttft(reference).p99, 3),
        signed(medianPairedDifference(subject.roundTtftMs, reference.roundTtftMs), 3),
        signed(total(subject).p50 - total(reference).p50, 3),
        signed(medianPairedDifference(subject.roundTotalMs, reference.roundTotalMs), 3),
        fixed(throughput(subject) / throughput(reference), 3),
      ],
    ];
  });
  printTable(["added by", "ΔTTFT p50", "ΔTTFT p99", "ΔTTFT paired", "Δtotal p50", "Δtotal paired", "throughput ratio"], rows);
}

/** Runs one comparison and prints both tables with the load average before and after. */
export async function measureAndReport(
  targets: readonly StreamTarget[],
  options: ComparisonOptions,
  pairs: readonly (readonly [subject: string, reference: string])[],
): Promise<TargetMeasurements[]> {
  const loadBefore = loadAverageText();
  const results = await compareInterleaved(targets, options);
  console.log(`\n### concurrency ${options.concurrency}: ${options.rounds} rounds (load average ${loadBefore} before, ${loadAverageText()} after; ms)\n`);
  printMeasurements(results);
  console.log("");
  printOverheads(results, pairs);
  return results;
}
