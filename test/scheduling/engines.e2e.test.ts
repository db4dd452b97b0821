/**
 * The engines layer on the real llama-server with the generated tiny models.
 */
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, it } from "node:test";
import { APIError } from "openai";
import { isProcessRunning } from "../support/processes.ts";
import { startRealEngineGateway, type RealEngineGateway, type RealEngineGatewayOptions } from "./real-engine-gateway.ts";

const gateways: RealEngineGateway[] = [];
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((gateway) => gateway.close()));
});

async function gateway(options: RealEngineGatewayOptions = {}): Promise<RealEngineGateway> {
  const started = await startRealEngineGateway(options);
  gateways.push(started);
  return started;
}

async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(25);
  }
  assert.fail(`timed out waiting for ${what}`);
}

const messages = [{ role: "user" as const, content: "Say something." }];

/** Streams a chat completion and collects what a client would see. */
async function streamChat(g: RealEngineGateway, model: string, maxTokens: number) {
  const stream = await g.openai.chat.completions.create({
    model, messages, max_tokens: maxTokens, stream: true, stream_options: { include_usage: true }, temperature: 0,
  });
  let content = "";
  let contentChunks = 0;
  let finishReason: string | null = null;
  let completionTokens: number | undefined;
  for await (const chunk of stream) {
    const choice = chunk.choices[0];
    if (choice?.delta.content) {
      content += choice.delta.content;
      contentChunks += 1;
    }
    if (choice?.finish_reason) finishReason = choice.finish_reason;
    if (chunk.usage) completionTokens = chunk.usage.completion_tokens;
  }
  return { content, contentChunks, finishReason, completionTokens };
}

/** Each test is bounded; the suite as a whole is not. */
const bounded = { timeout: 60_000 };

describe("engines on the real llama-server", () => {
  it("loads a runner lazily on the first request, then reuses it", bounded, async () => {
    const g = await gateway();
    assert.deepEqual(await (await fetch(`${g.url}/engines/ps`)).json(), []);
    const started = performance.now();
    const first = await g.openai.chat.completions.create({ model: "tiny", messages, max_tokens: 8 });
    const coldMs = performance.now() - started;
    assert.equal(first.object, "chat.completion");
    assert.ok(first.usage && first.usage.completion_tokens > 0);
    const ps = (await (await fetch(`${g.url}/engines/ps`)).json()) as Array<{ model_name: string; loading: boolean }>;
    assert.deepEqual(ps.map((r) => [r.model_name, r.loading]), [["tiny:latest", false]]);
    const warmStarted = performance.now();
    await g.openai.chat.completions.create({ model: "tiny:latest", messages, max_tokens: 8 });
    const warmMs = performance.now() - warmStarted;
    assert.equal(g.pids.size, 1, "the second request reused the runner");
    console.log(`# cold request ${coldMs.toFixed(0)} ms, warm request ${warmMs.toFixed(0)} ms`);
  });

  it("serves 16 concurrent streams on one model, each complete and intact", bounded, async () => {
    const g = await gateway();
    const results = await Promise.all(Array.from({ length: 16 }, () => streamChat(g, "tiny", 24)));
    for (const result of results) {
      assert.ok(result.finishReason === "length" || result.finishReason === "stop", `finish_reason ${result.finishReason}`);
      assert.ok(result.completionTokens !== undefined && result.completionTokens > 0);
      assert.ok(result.contentChunks > 0 && result.contentChunks <= result.completionTokens);
    }
    assert.equal(g.pids.size, 1, "one runner for all of them");
    // Greedy decoding of one prompt: every stream carries the same text, whole.
    assert.equal(new Set(results.map((r) => r.content)).size, 1);
  });

  it("runs two models side by side: chat and embeddings", bounded, async () => {
    const g = await gateway();
    const [chat, embedding] = await Promise.all([
      g.openai.chat.completions.create({ model: "tiny", messages, max_tokens: 4 }),
      g.openai.embeddings.create({ model: "tiny-embed", input: ["hello", "world"] }),
    ]);
    assert.ok(chat.choices[0]?.message);
    assert.equal(embedding.data.length, 2);
    assert.ok((embedding.data[0]?.embedding.length ?? 0) > 0);
    const ps = (await (await fetch(`${g.url}/engines/ps`)).json()) as Array<{ model_name: string; mode: string }>;
    assert.deepEqual(ps.map((r) => `${r.model_name}/${r.mode}`).sort(), ["tiny-embed:latest/embedding", "tiny:latest/completion"]);
  });

  it("evicts the least recently used idle runner when the memory budget allows one model at a time", bounded, async () => {
    const GiB = 1024 ** 3;
    const g = await gateway({ memory: { ram: 1.5 * GiB }, memoryOf: () => ({ ram: GiB, vram: 0 }) });
    await g.openai.chat.completions.create({ model: "tiny", messages, max_tokens: 4 });
    const [tinyPid] = g.pids.values();
    await g.openai.chat.completions.create({ model: "tiny-tools", messages, max_tokens: 4 });
    assert.deepEqual(g.loader.runners().map((r) => r.model), ["tiny-tools:latest"]);
    assert.equal(await isProcessRunning(tinyPid!), false, "the evicted engine is gone");
  });

  it("refuses a model larger than the whole budget, naming both figures", bounded, async () => {
    const g = await gateway({ memory: { ram: 1024 ** 2 }, memoryOf: () => ({ ram: 2 * 1024 ** 3, vram: 0 }) });
    await assert.rejects(g.openai.chat.completions.create({ model: "tiny", messages, max_tokens: 4 }), (error: unknown) => {
      assert.ok(error instanceof APIError);
      assert.equal(error.status, 500);
      assert.match(error.message, /requires 2\.0 GiB RAM .* budget is 1\.0 MiB RAM/);
      return true;
    });
  });

  it("unloads the runner as soon as a keep_alive 0 request ends", bounded, async () => {
    const g = await gateway();
    await g.openai.chat.completions.create({ model: "tiny", messages, max_tokens: 4, keep_alive: 0 } as never);
    const [pid] = g.pids.values();
    await eventually(async () => g.loader.runners().length === 0 && !(await isProcessRunning(pid!)), "the runner to unload");
    assert.deepEqual(await readdir(g.runnersDir), []);
  });

  it("gives the client an error when its runner is killed mid-stream, and serves the next request afresh", bounded, async () => {
    const g = await gateway();
    const stream = await g.openai.chat.completions.create({ model: "tiny", messages, max_tokens: 4000, stream: true });
    let chunks = 0;
    await assert.rejects(
      (async () => {
        for await (const _chunk of stream) {
          chunks += 1;
          if (chunks === 3) process.kill([...g.pids.values()][0]!, "SIGKILL");
        }
      })(),
      (error: unknown) => {
        assert.match(String(error), /llama-server|SIGKILL|signal/i);
        return true;
      },
    );
    const next = await g.openai.chat.completions.create({ model: "tiny", messages, max_tokens: 4 });
    assert.ok(next.choices[0]?.message);
    assert.equal(g.pids.size, 1, "the new runner reuses the slot and socket");
  });

  it("frees the engine's slot when the client disconnects mid-stream", bounded, async () => {
    const g = await gateway();
    const controller = new AbortController();
    const response = await fetch(`${g.url}/engines/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "tiny", messages, max_tokens: 4000, stream: true }),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    await reader.read();
    await reader.read();
    type Slot = { is_processing: boolean };
    const processing = async () => ((await g.runnerGet(0, "/slots")) as Slot[]).filter((slot) => slot.is_processing).length;
    assert.equal(await processing(), 1);
    controller.abort();
    await eventually(async () => (await processing()) === 0, "llama-server to stop generating", 5_000);
    await eventually(() => g.loader.runners()[0]?.inUse === 0, "the lease to be released", 5_000);
  });

  it("answers 503 server busy past the queue limit", bounded, async () => {
    const g = await gateway({ maxQueue: 2 });
    const attempts = await Promise.allSettled(
      Array.from({ length: 4 }, () => g.openai.chat.completions.create({ model: "tiny", messages, max_tokens: 2 })),
    );
    const refused = attempts.flatMap((a) => (a.status === "rejected" ? [a.reason as unknown] : []));
    assert.equal(refused.length, 2);
    for (const error of refused) {
      assert.ok(error instanceof APIError);
      assert.equal(error.status, 503);
      assert.match(error.message, /server busy, please try again/);
    }
  });

  it("leaves no engine process and no socket behind once closed", bounded, async () => {
    const g = await startRealEngineGateway();
    await Promise.all([
      g.openai.chat.completions.create({ model: "tiny", messages, max_tokens: 2 }),
      g.openai.embeddings.create({ model: "tiny-embed", input: "x" }),
    ]);
    const stream = await g.openai.chat.completions.create({ model: "tiny", messages, max_tokens: 4000, stream: true });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    assert.equal(g.pids.size, 2);
    const consumed = (async () => {
      try {
        for (let next = await iterator.next(); !next.done; next = await iterator.next());
      } catch {
        // the stream in flight is cut by the shutdown
      }
    })();
    await g.loader.close();
    for (const pid of g.pids.values()) assert.equal(await isProcessRunning(pid), false, `llama-server ${pid} survived`);
    assert.deepEqual(await readdir(g.runnersDir), []);
    await consumed;
    await g.close();
  });
});
