/**
 * The Ollama layer's cost (issue 4), in one run:
 *
 * 1. The stream translator alone: the recorded llama-server streams
 *    (`fixtures/streams/*.sse`) fed to `createStreamTranslator` one event at a
 *    time, as they arrive from the engine, many times over; nanoseconds per
 *    event, with and without writing each reply as an NDJSON line.
 * 2. End to end, paths interleaved: `/api/chat` against
 *    `/engines/v1/chat/completions` (the same gateway and runner), against
 *    the runner's socket and a llama-server started by hand with the same
 *    command line. Time to first token and total time.
 *
 * Goal: under 5 µs per chunk; under 1 ms added to the time to first token.
 *
 *   npm run bench -- ollama [--part translator|paths|all] [--requests 300]
 *     [--concurrency 1] [--max-tokens 32] [--max-load 1.5]
 */
import { readdir, readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { ensureFixtureModels } from "../fixtures/generate.ts";
import { ensureLlamaServer } from "../src/backends/llamacpp/install.ts";
import { replyFormatter, type ReplyShape } from "../src/ollama/ollama-replies.ts";
import { createStreamTranslator } from "../src/ollama/stream-translator.ts";
import { compareInterleaved, measureAndReport } from "./support/interleaved-comparison.ts";
import { loadAverageText, waitForQuietMachine } from "./support/machine-load.ts";
import { microBenchmark } from "./support/micro-benchmark.ts";
import { defaultPrompt, openModelPaths, pathNames, warmUp, type BenchPrompt } from "./support/model-paths.ts";
import { fixed, printTable } from "./support/table.ts";

const { values } = parseArgs({
  options: {
    part: { type: "string", default: "all" },
    requests: { type: "string", default: "300" },
    concurrency: { type: "string", default: "1" },
    "max-tokens": { type: "string", default: String(defaultPrompt.maxTokens) },
    "max-load": { type: "string", default: "1.5" },
    "wait-load-s": { type: "string", default: "120" },
  },
});
const parts = values.part === "all" ? ["translator", "paths"] : [values.part];

if (parts.includes("translator")) await benchTranslator();
if (parts.includes("paths")) await benchPaths({ ...defaultPrompt, maxTokens: Number(values["max-tokens"]) });

interface RecordedStream {
  readonly name: string;
  readonly shape: ReplyShape;
  /** The stream cut after each event's blank line, as llama-server writes (and flushes) them. */
  readonly events: readonly string[];
}

async function recordedStreams(): Promise<RecordedStream[]> {
  const dir = new URL("../fixtures/streams/", import.meta.url);
  const names = (await readdir(dir)).filter((name) => name.endsWith(".sse")).sort();
  return Promise.all(
    names.map(async (name) => ({
      name,
      // Plain completions answer /api/generate; chat streams answer /api/chat.
      shape: name.startsWith("completion") ? ("generate" as const) : ("chat" as const),
      events: (await readFile(new URL(name, dir), "utf8")).split(/(?<=\n\n)/),
    })),
  );
}

async function benchTranslator(): Promise<void> {
  const streams = await recordedStreams();
  const encoder = new TextEncoder();
  // One request's work: a translator made, every event pushed, the stream ended.
  const translateStream = (stream: RecordedStream, writeLines: boolean) => {
    const translator = createStreamTranslator({ formatter: replyFormatter(stream.shape, "tiny:latest"), startedAt: performance.now() });
    let bytes = 0;
    const take = (lines: readonly unknown[]) => {
      for (const line of lines) bytes += writeLines ? encoder.encode(`${JSON.stringify(line)}\n`).length : 1;
    };
    for (const event of stream.events) take(translator.push(event));
    take(translator.end());
    return bytes;
  };

  console.log(`\n# stream translator: ns per engine event (load average ${loadAverageText()} at start)\n`);
  const rows = streams.flatMap((stream) =>
    [false, true].map((writeLines) => {
      const result = microBenchmark((count) => {
        let bytes = 0;
        for (let i = 0; i < count; i++) bytes += translateStream(stream, writeLines);
        return bytes;
      });
      const perEvent = (ns: number) => ns / stream.events.length;
      return [
        stream.name,
        writeLines ? "translate + NDJSON line" : "translate",
        String(stream.events.length),
        fixed(perEvent(result.medianNs), 0),
        fixed(perEvent(result.minNs), 0),
        fixed(result.medianNs / 1000, 1),
      ];
    }),
  );
  printTable(["recorded stream", "work", "events", "ns/event p50", "ns/event min", "µs/stream"], rows);
  console.log(`\n(load average ${loadAverageText()} at the end; goal: < 5000 ns per chunk)`);
}

async function benchPaths(prompt: BenchPrompt): Promise<void> {
  await ensureFixtureModels({ onProgress: (line) => console.error(line) });
  await ensureLlamaServer({ onProgress: ({ stage, message }) => console.error(`[llama-server ${stage}] ${message}`) });
  console.log(`\n# Ollama path against the engines path and the engine: ${prompt.maxTokens} tokens per request, load average ${loadAverageText()} at start`);
  const paths = await openModelPaths(prompt);
  try {
    const targets = [paths.targets.ollama, paths.targets.engines, paths.targets.runner, paths.targets.direct];
    await warmUp(targets, 20);
    const pairs = [
      [pathNames.ollama, pathNames.engines],
      [pathNames.ollama, pathNames.runner],
      [pathNames.ollama, pathNames.direct],
      [pathNames.engines, pathNames.runner],
    ] as const;
    for (const concurrency of values.concurrency.split(",").map(Number)) {
      await waitForQuietMachine(Number(values["max-load"]), Number(values["wait-load-s"]) * 1000);
      await compareInterleaved(targets, { concurrency, rounds: 1 }); // warms this concurrency up; not reported
      await measureAndReport(targets, { concurrency, rounds: Math.ceil(Number(values.requests) / concurrency) }, pairs);
    }
  } finally {
    await paths.close();
  }
}
