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
import { createParser } from "eventsource-parser";
import { ensureFixtureModels } from "../fixtures/generate.ts";
import { ensureLlamaServer } from "../src/backends/llamacpp/install.ts";
import { ndjsonLine } from "../src/ollama/ndjson-response.ts";
import { replyFormatter, replyJson, type OllamaStreamLine, type ReplyShape } from "../src/ollama/ollama-replies.ts";
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
    "engine-threads": { type: "string" },
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
  const eventsIn = (all: readonly RecordedStream[]) => all.reduce((sum, stream) => sum + stream.events.length, 0);

  // One request's work at each depth: what the engine's events cost before
  // translation (the SSE parser alone, then with JSON.parse), the translator
  // (a translator made, every event pushed, the stream ended), and the
  // translator with every reply written as an NDJSON line, as the route does.
  const sseOnly = (stream: RecordedStream, parseJson: boolean) => {
    let size = 0;
    const parser = createParser({ onEvent: (event) => (size += parseJson && event.data !== "[DONE]" ? Object.keys(JSON.parse(event.data) as object).length : event.data.length) });
    for (const event of stream.events) parser.feed(event);
    return size;
  };
  const translated = (stream: RecordedStream, writeLines: boolean) => {
    const translator = createStreamTranslator({ formatter: replyFormatter(stream.shape, "tiny:latest"), startedAt: performance.now() });
    let size = 0;
    const take = (lines: readonly OllamaStreamLine[]) => {
      for (const line of lines) size += writeLines ? ndjsonLine(line, replyJson).length : 1;
    };
    for (const event of stream.events) take(translator.push(event));
    take(translator.end());
    return size;
  };
  const depths: [string, (stream: RecordedStream) => number][] = [
    ["SSE parsing only (eventsource-parser)", (stream) => sseOnly(stream, false)],
    ["SSE parsing + JSON.parse", (stream) => sseOnly(stream, true)],
    ["translate (createStreamTranslator)", (stream) => translated(stream, false)],
    ["translate + NDJSON line", (stream) => translated(stream, true)],
  ];
  const nsPerEvent = (all: readonly RecordedStream[], work: (stream: RecordedStream) => number) => {
    const result = microBenchmark(
      (count) => {
        let size = 0;
        for (let i = 0; i < count; i++) for (const stream of all) size += work(stream);
        return size;
      },
      { samples: 9, sampleMs: 150 },
    );
    return [fixed(result.medianNs / eventsIn(all), 0), fixed(result.minNs / eventsIn(all), 0)];
  };

  console.log(`\n# stream translator: ns per engine event, recorded streams fed event by event (load average ${loadAverageText()} at start)\n`);
  printTable(
    ["work per event, all recorded streams", "ns/event p50", "ns/event min"],
    depths.map(([label, work]) => [label, ...nsPerEvent(streams, work)]),
  );
  console.log("");
  const [, fullWork] = depths.at(-1)!;
  printTable(
    ["translate + NDJSON line, per stream", "events", "ns/event p50", "ns/event min"],
    streams.map((stream) => [stream.name, String(stream.events.length), ...nsPerEvent([stream], fullWork)]),
  );
  console.log(`\n(load average ${loadAverageText()} at the end; goal: < 5000 ns per chunk)`);
}

async function benchPaths(prompt: BenchPrompt): Promise<void> {
  await ensureFixtureModels({ onProgress: (line) => console.error(line) });
  await ensureLlamaServer({ onProgress: ({ stage, message }) => console.error(`[llama-server ${stage}] ${message}`) });
  // Once, before the bench adds load of its own (its engines alone keep the load near 2).
  await waitForQuietMachine(Number(values["max-load"]), Number(values["wait-load-s"]) * 1000);
  console.log(`\n# Ollama path against the engines path and the engine: ${prompt.maxTokens} tokens per request, load average ${loadAverageText()} at start`);
  const paths = await openModelPaths(prompt, { engineThreads: values["engine-threads"] === undefined ? undefined : Number(values["engine-threads"]) });
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
        await compareInterleaved(targets, { concurrency, rounds: 1 }); // warms this concurrency up; not reported
      await measureAndReport(targets, { concurrency, rounds: Math.ceil(Number(values.requests) / concurrency) }, pairs);
    }
  } finally {
    await paths.close();
  }
}
