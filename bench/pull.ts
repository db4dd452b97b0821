/**
 * `node --import tsx bench/pull.ts [--size-mib 1024] [--runs 3]`
 *
 * 1. Pull throughput: a GGUF model of the given size is pushed to a local
 *    registry (Debian's docker-registry), then pulled into a fresh store
 *    (download, streamed sha256, fsync, rename, commit) and fetched with
 *    `curl -o` from the same registry, and with `curl -o` then `sync` (the
 *    store fsyncs; plain curl leaves the bytes in the page cache). Reports
 *    the best run of each and the ratios (goal ≥ 0.9).
 * 2. Import: the same file imported as a local GGUF (copied with streamed
 *    hashing) in a child process, which reports time and peak RSS, beside
 *    the peak RSS of importing the 5 MB fixture (the process's baseline).
 */
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs, promisify } from "node:util";
import { parseNamedReference } from "../src/models/reference.ts";
import { createRegistryClient } from "../src/models/registry/registry-client.ts";
import { pullFromRegistry } from "../src/models/registry/registry-pull.ts";
import { pushToRegistry } from "../src/models/registry/registry-push.ts";
import { importGGUF } from "../src/models/store/gguf-import.ts";
import { openModelStore } from "../src/models/store/model-store.ts";
import { ensureFixtureModels } from "../fixtures/generate.ts";
import { entry, writeGGUF } from "../fixtures/gguf-writer.ts";
import { requireRegistry, startRegistry } from "../test/support/registry.ts";

const { values } = parseArgs({
  options: {
    "size-mib": { type: "string", default: "1024" },
    runs: { type: "string", default: "3" },
    "import-child": { type: "string" },
  },
});

if (values["import-child"]) {
  // Child: import one file into a fresh store, report time and peak RSS.
  const home = await mkdtemp(join(tmpdir(), "modelgate-bench-import-"));
  try {
    const store = await openModelStore({ home });
    const started = performance.now();
    await importGGUF(store, values["import-child"], { tags: [parseNamedReference("bench-import")] });
    const ms = performance.now() - started;
    process.stdout.write(JSON.stringify({ ms, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
  } finally {
    await rm(home, { recursive: true, force: true });
  }
  process.exit(0);
}

await requireRegistry();

const sizeMiB = Number(values["size-mib"]);
const runs = Number(values.runs);
const work = await mkdtemp(join(tmpdir(), "modelgate-bench-pull-"));
const registry = await startRegistry();
try {
  const model = join(work, "big.gguf");
  await writeBigGGUF(model, sizeMiB);
  const bytes = (await stat(model)).size;
  const mib = bytes / 1024 / 1024;
  console.log(`model: ${mib.toFixed(0)} MiB GGUF; registry ${registry.url}`);

  const client = createRegistryClient();
  const reference = parseNamedReference(`${registry.host}/bench/big:v1`);
  const source = await openModelStore({ home: join(work, "source") });
  const imported = await importGGUF(source, model, { tags: [reference] });
  await pushToRegistry(source, client, reference);
  const weights = imported.parts.weights[0].digest;
  const blobUrl = `${registry.url}/v2/bench/big/blobs/${weights}`;

  const ours: number[] = [];
  const curls: number[] = [];
  const curlSyncs: number[] = [];
  const curlOut = join(work, "curl.out");
  for (let run = 0; run < runs; run++) {
    curls.push(await timed(() => promisify(execFile)("curl", ["-sf", "-o", curlOut, blobUrl])));
    await rm(curlOut, { force: true });
    curlSyncs.push(await timed(() => promisify(execFile)("sh", ["-c", 'curl -sf -o "$1" "$2" && sync "$1"', "sh", curlOut, blobUrl])));
    await rm(curlOut, { force: true });

    const home = join(work, `pull-${run}`);
    const store = await openModelStore({ home });
    ours.push(await timed(() => pullFromRegistry(store, client, reference)));
    await rm(home, { recursive: true, force: true });
  }
  const best = (times: number[]) => Math.min(...times);
  const rate = (ms: number) => mib / (ms / 1000);
  const line = (label: string, times: number[]) =>
    console.log(`${label.padEnd(18)}: best ${best(times).toFixed(0)} ms  ${rate(best(times)).toFixed(0)} MiB/s  (runs: ${times.map((t) => t.toFixed(0)).join(", ")})`);
  line("curl -o", curls);
  line("curl -o && sync", curlSyncs);
  line("modelgate pull", ours);
  console.log(`ratio pull / curl        : ${(best(curls) / best(ours)).toFixed(2)}  (goal ≥ 0.9)`);
  console.log(`ratio pull / curl + sync : ${(best(curlSyncs) / best(ours)).toFixed(2)}`);

  const baseline = await runImportChild((await ensureFixtureModels()).embedding);
  const child = await runImportChild(model);
  console.log(`import ${mib.toFixed(0)} MiB GGUF: ${child.ms.toFixed(0)} ms  ${rate(child.ms).toFixed(0)} MiB/s  peak RSS ${child.maxRssMiB.toFixed(0)} MiB (5 MB import: ${baseline.maxRssMiB.toFixed(0)} MiB)`);
} finally {
  await registry.stop();
  await rm(work, { recursive: true, force: true });
}

/** A valid GGUF of about `sizeMiB`: 64 MiB F32 tensors sharing one buffer of random bytes (so setup stays small). */
async function writeBigGGUF(path: string, sizeMiB: number): Promise<void> {
  const tensorMiB = 64;
  const data = randomBytes(tensorMiB * 1024 * 1024);
  const count = Math.max(1, Math.round(sizeMiB / tensorMiB));
  await writeGGUF(path, {
    metadata: [
      ["general.architecture", entry.string("llama")],
      ["general.name", entry.string("bench")],
      ["llama.context_length", entry.uint32(2048)],
    ],
    tensors: Array.from({ length: count }, (_, i) => ({ name: `blk.${i}.weight`, dims: [data.length / 4], data: { type: 0, bytes: data } })),
  });
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

async function runImportChild(path: string): Promise<{ ms: number; maxRssMiB: number }> {
  const child = spawn(process.execPath, ["--import", "tsx", new URL(import.meta.url).pathname, "--import-child", path], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  if (code !== 0) throw new Error(`import child exited with ${code}`);
  return JSON.parse(out) as { ms: number; maxRssMiB: number };
}
