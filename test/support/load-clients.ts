/**
 * The clients of the load test and the load bench: one streaming request
 * each, mixed across the Ollama and OpenAI front doors and two models, each
 * reply checked whole (every NDJSON line, every SSE event, the counts), and
 * what the gateway says of its own health.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { Ollama } from "ollama";
import OpenAI from "openai";
import { parsePrometheusText } from "../../src/scheduling/prometheus-text.ts";
import { readNdjsonReply, readSseReply } from "./streams.ts";

/** Raw fetch where every line must be seen; the real clients (openai, ollama-js) where they are what users run. */
export const loadKinds = ["chat", "generate", "engines", "openai", "embed"] as const;
export type LoadKind = (typeof loadKinds)[number];

/** A client's reply: text, or embedding vectors; every client of one kind must agree on it. */
export type LoadReply = string | number[][];

export interface LoadClients {
  /** Runs one request of `kind` to its end and checks it; throws what was wrong. */
  run(kind: LoadKind): Promise<LoadReply>;
}

const prompt = "Say something.";
const messages = [{ role: "user" as const, content: prompt }];
/** Greedy, so every client of a kind gets the same text. */
const greedy = { temperature: 0, seed: 1 };

/** Clients of the gateway at `url`, generating `numPredict` tokens a request on `tiny`, embedding with `tiny-embed`. */
export function loadClients(url: string, numPredict: number): LoadClients {
  const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: "unused", maxRetries: 0 });
  const ollama = new Ollama({ host: url });
  const post = (path: string, body: unknown) =>
    fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

  const ollamaStream = async (kind: "chat" | "generate") => {
    const options = { ...greedy, num_predict: numPredict };
    const reply =
      kind === "chat"
        ? await readNdjsonReply(await post("/api/chat", { model: "tiny", messages, options }), "message")
        : await readNdjsonReply(await post("/api/generate", { model: "tiny", prompt, options }), "response");
    const { done_reason, eval_count } = reply.final;
    assert.ok(done_reason === "length" || done_reason === "stop", `done_reason ${String(done_reason)}`);
    assert.ok(typeof eval_count === "number", "eval_count on the done object");
    checkCounts(reply.chunks, eval_count, done_reason);
    return reply.content;
  };

  /** Each chunk carries a token (an incomplete character may wait for the next); `length` means all of them. */
  const checkCounts = (chunks: number, tokens: number, finish: string) => {
    assert.ok(chunks > 0 && chunks <= tokens && tokens <= numPredict, `${chunks} chunks for ${tokens} tokens`);
    if (finish === "length") assert.equal(tokens, numPredict);
  };

  return {
    async run(kind) {
      switch (kind) {
        case "chat":
        case "generate":
          return ollamaStream(kind);
        case "engines": {
          const body = { model: "tiny", messages, max_tokens: numPredict, stream: true, stream_options: { include_usage: true }, ...greedy };
          const reply = await readSseReply(await post("/engines/v1/chat/completions", body));
          checkCounts(reply.contentChunks, reply.completionTokens, reply.finishReason);
          return reply.content;
        }
        case "openai": {
          const stream = await openai.chat.completions.create({
            model: "tiny", messages, max_tokens: numPredict, stream: true, stream_options: { include_usage: true }, ...greedy,
          });
          let content = "";
          let chunks = 0;
          let tokens = 0;
          let finish = "";
          for await (const chunk of stream) {
            const choice = chunk.choices[0];
            if (choice?.delta.content) (content += choice.delta.content), (chunks += 1);
            if (choice?.finish_reason) finish = choice.finish_reason;
            if (chunk.usage) tokens = chunk.usage.completion_tokens;
          }
          checkCounts(chunks, tokens, finish);
          return content;
        }
        case "embed": {
          const { embeddings, prompt_eval_count } = await ollama.embed({ model: "tiny-embed", input: ["hello", "world"] });
          assert.equal(embeddings.length, 2);
          assert.ok(prompt_eval_count > 0);
          for (const vector of embeddings) assert.ok(Math.abs(Math.hypot(...vector) - 1) < 1e-6, "L2-normalised");
          return embeddings;
        }
      }
    },
  };
}

/**
 * Checks that replies of one kind agree: text exactly (greedy decoding of one
 * prompt), embeddings to 1e-3 (batches of different sizes differ in the last bits).
 */
export function assertRepliesAgree(kind: LoadKind, first: LoadReply, other: LoadReply): void {
  if (typeof first === "string") return assert.equal(other, first, `every ${kind} client saw the same reply`);
  const vectors = other as number[][];
  assert.equal(vectors.length, first.length);
  const difference = Math.max(...first.flatMap((vector, i) => vector.map((value, j) => Math.abs(value - vectors[i]![j]!))));
  assert.ok(difference < 1e-3, `every ${kind} client got the same vectors (off by ${difference})`);
}

/** A process's resident memory now and at its peak (`VmRSS`, `VmHWM`), in KiB. */
export async function residentMemoryKiB(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB$`, "m").exec(status)?.[1]);
  return { rss: field("VmRSS"), peak: field("VmHWM") };
}

export interface GatewayHealth {
  /** Event-loop delay since the previous scrape (prom-client restarts its histogram at each), seconds. */
  readonly eventLoopDelay: { readonly p50: number; readonly p99: number; readonly max: number };
  /** `modelgate_engine_requests_total` summed by outcome. */
  readonly requests: Readonly<Record<string, number>>;
}

/** prom-client's default `eventLoopMonitoringPrecision`, which the gateway keeps. */
const eventLoopMonitoringIntervalS = 0.01;

/** Scrapes the gateway's `/metrics`. */
export async function gatewayHealth(url: string): Promise<GatewayHealth> {
  const families = parsePrometheusText(await (await fetch(`${url}/metrics`)).text());
  const value = (name: string) => {
    const sample = families.find((family) => family.name === name)?.samples[0];
    assert.ok(sample, `${name} is exported`);
    return sample.value;
  };
  const requests: Record<string, number> = {};
  for (const sample of families.find((family) => family.name === "modelgate_engine_requests_total")?.samples ?? []) {
    const outcome = sample.labels.outcome ?? "";
    requests[outcome] = (requests[outcome] ?? 0) + sample.value;
  }
  // prom-client's histogram holds the whole interval between its timer's ticks (every 10 ms by default): the delay is what exceeds it.
  const delay = (name: string) => Math.max(0, value(name) - eventLoopMonitoringIntervalS);
  return {
    eventLoopDelay: {
      p50: delay("nodejs_eventloop_lag_p50_seconds"),
      p99: delay("nodejs_eventloop_lag_p99_seconds"),
      max: delay("nodejs_eventloop_lag_max_seconds"),
    },
    requests,
  };
}
