import { readFile } from "node:fs/promises";
import { fixed, printTable } from "./table.ts";

/** The parts of V8's `.cpuprofile` (written by `node --cpu-prof`) this reads. */
interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
    readonly children?: readonly number[];
  }[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const repoRoot = new URL("../..", import.meta.url).href;

export interface ProfileSummaryOptions {
  /** Rows per table. */
  readonly top?: number;
  /** Tokens streamed while profiled: times are then shown in µs per token, not ms. */
  readonly tokens?: number;
  /** Printed instead of the file's path. */
  readonly title?: string;
}

/**
 * Prints where a profiled process spent its time: self time by file or
 * package, then the functions with the most self and total (inclusive) time.
 * Idle time is left out of the percentages: they are shares of the work done.
 */
export async function printCpuProfileSummary(path: string, { top = 20, tokens, title = path }: ProfileSummaryOptions = {}): Promise<void> {
  const profile = JSON.parse(await readFile(path, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);

  const selfByFunction = new Map<string, number>();
  const totalByFunction = new Map<string, number>();
  const selfByPlace = new Map<string, number>();
  let busyUs = 0;
  profile.samples.forEach((id, index) => {
    // A sample's time is the gap to the next sample.
    const us = profile.timeDeltas[index + 1] ?? 0;
    const node = byId.get(id)!;
    if (node.callFrame.functionName === "(idle)") return;
    busyUs += us;
    add(selfByFunction, functionKey(node.callFrame), us);
    add(selfByPlace, placeOf(node.callFrame), us);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
      const key = functionKey(byId.get(at)!.callFrame);
      if (!seen.has(key)) add(totalByFunction, key, us);
      seen.add(key);
    }
  });

  const unit = tokens ? "µs/token" : "ms";
  const amount = (us: number) => (tokens ? fixed(us / tokens, 2) : fixed(us / 1000, 1));
  const rows = (table: Map<string, number>) =>
    [...table]
      .sort(([, a], [, b]) => b - a)
      .slice(0, top)
      .map(([key, us]) => [key, amount(us), fixed((100 * us) / busyUs, 1)]);
  const perToken = tokens ? ` (${fixed(busyUs / tokens, 1)} µs per token over ${tokens} tokens)` : "";
  console.log(`\n${title}: ${fixed(busyUs / 1000, 0)} ms of CPU outside idle${perToken}\n`);
  printTable(["self time by file or package", unit, "%"], rows(selfByPlace));
  console.log("");
  printTable(["function (self time)", unit, "%"], rows(selfByFunction));
  console.log("");
  printTable(["function (total time, callees included)", unit, "%"], rows(totalByFunction));
}

function add(table: Map<string, number>, key: string, us: number): void {
  table.set(key, (table.get(key) ?? 0) + us);
}

function functionKey(frame: CpuProfile["nodes"][number]["callFrame"]): string {
  const place = frame.url ? ` ${shortUrl(frame.url)}:${frame.lineNumber + 1}` : "";
  return `${frame.functionName || "(anonymous)"}${place}`;
}

/** The repository file, the npm package, or the kind of native code a frame belongs to. */
function placeOf(frame: CpuProfile["nodes"][number]["callFrame"]): string {
  const url = frame.url;
  if (!url) return frame.functionName.startsWith("(") ? frame.functionName : "(native)";
  const inPackage = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (inPackage) return `npm: ${inPackage[1]}`;
  if (url.startsWith("node:")) return "node: built-ins";
  return shortUrl(url);
}

function shortUrl(url: string): string {
  const path = url.startsWith(repoRoot) ? url.slice(repoRoot.length) : url;
  return path.replace(/\?.*$/, "");
}
