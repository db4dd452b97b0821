/**
 * Reads Prometheus' text exposition format (what llama-server's and vLLM's
 * `/metrics` answer): families with their help and type, and each sample
 * with its labels. Pure; unreadable lines are skipped.
 */

export type PrometheusType = "counter" | "gauge" | "histogram" | "summary" | "untyped";

export interface PrometheusSample {
  /** The sample's own name: a histogram's are `<family>_bucket`, `_sum` and `_count`. */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface PrometheusFamily {
  readonly name: string;
  readonly help: string;
  readonly type: PrometheusType;
  readonly samples: readonly PrometheusSample[];
}

const types = new Set<string>(["counter", "gauge", "histogram", "summary", "untyped"]);
const samplePattern = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const labelPattern = /([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?/g;
const suffixes = ["_bucket", "_sum", "_count", "_total", "_created"];

/**
 * @example parsePrometheusText("# TYPE up gauge\nup 1\n")
 * // [{ name: "up", help: "", type: "gauge", samples: [{ name: "up", labels: {}, value: 1 }] }]
 */
export function parsePrometheusText(text: string): PrometheusFamily[] {
  const families = new Map<string, { name: string; help: string; type: PrometheusType; samples: PrometheusSample[] }>();
  const family = (name: string) => {
    let found = families.get(name);
    if (!found) families.set(name, (found = { name, help: "", type: "untyped", samples: [] }));
    return found;
  };
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) {
      const [, keyword, name, ...rest] = line.split(/\s+/);
      if (!name) continue;
      const value = rest.join(" ");
      if (keyword === "HELP") family(name).help = unescapeHelp(value);
      if (keyword === "TYPE" && types.has(value)) family(name).type = value as PrometheusType;
      continue;
    }
    const match = samplePattern.exec(line);
    const value = match ? parseValue(match[3]!) : undefined;
    if (!match || value === undefined) continue;
    const name = match[1]!;
    family(familyOf(name, families)).samples.push({ name, labels: parseLabels(match[2] ?? ""), value });
  }
  return [...families.values()].filter((f) => f.samples.length > 0);
}

/** A sample belongs to the family declared under its name, or under its name less a histogram's or counter's suffix. */
function familyOf(sample: string, families: ReadonlyMap<string, unknown>): string {
  if (families.has(sample)) return sample;
  const suffix = suffixes.find((s) => sample.endsWith(s) && families.has(sample.slice(0, -s.length)));
  return suffix ? sample.slice(0, -suffix.length) : sample;
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [, name, value] of text.matchAll(labelPattern)) labels[name!] = unescapeLabel(value!);
  return labels;
}

function parseValue(text: string): number | undefined {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  const value = Number(text);
  return Number.isNaN(value) ? undefined : value;
}

function unescapeLabel(value: string): string {
  return value.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
}

function unescapeHelp(value: string): string {
  return value.replace(/\\([\\n])/g, (_, c: string) => (c === "n" ? "\n" : c));
}
