/** Order statistics of a set of measurements (milliseconds, nanoseconds: any unit). */
export interface Summary {
  readonly count: number;
  readonly mean: number;
  readonly min: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/**
 * The q-quantile (0..1) of ascending `sorted` values, linearly interpolated
 * between the two nearest ranks, so small samples do not jump between values.
 */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.ceil(position);
  const low = sorted[below]!;
  return low + (sorted[above]! - low) * (position - below);
}

export function median(values: readonly number[]): number {
  return quantile([...values].sort(ascending), 0.5);
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort(ascending);
  return {
    count: sorted.length,
    mean: sorted.reduce((sum, value) => sum + value, 0) / (sorted.length || NaN),
    min: sorted[0] ?? NaN,
    p50: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    max: sorted.at(-1) ?? NaN,
  };
}

/**
 * The median of element-wise differences `a[i] - b[i]`: for measurements
 * taken in pairs (interleaved A/B), it cancels drift the machine's load
 * puts into both, which the difference of the two medians does not. Pairs
 * with a NaN side (a failed measurement) are left out.
 */
export function medianPairedDifference(a: readonly number[], b: readonly number[]): number {
  const count = Math.min(a.length, b.length);
  const differences = Array.from({ length: count }, (_, i) => a[i]! - b[i]!);
  return median(differences.filter((difference) => !Number.isNaN(difference)));
}

function ascending(a: number, b: number): number {
  return a - b;
}
