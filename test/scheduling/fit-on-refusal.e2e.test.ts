/**
 * A completion fitted to the context only when the real llama-server refuses
 * it for its length: what that rests on (the engine's refusal, streamed or
 * not, context shift on, before any byte of a stream), a chat that fits going
 * to the engine without a look at its template, and a long one reaching the
 * model exactly as fitting first cuts it (Ollama's `TestChatPrompt/truncate
 * messages`: the oldest messages dropped, the system prompt and the latest
 * kept; a prompt's middle cut). The runner requests are observed as undici sends them
 * (`undici:request:create`), on the real runner's socket.
 */
import assert from "node:assert/strict";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { after, before, describe, it } from "node:test";
import { Agent, request } from "undici";
import { fitCompletionContext } from "../../src/scheduling/completion-context.ts";
import { runnerSocketPath } from "../../src/scheduling/runners-dir.ts";
import { startRealEngineGateway, type RealEngineGateway } from "./real-engine-gateway.ts";
import { longChat } from "../support/long-chat.ts";

const contextSize = 256;
const runnerOptions = { "context-size": contextSize };

/** What undici sends to runners (their origin is `http://runner`), in order. */
const sentToRunners: { path: string; body: string }[] = [];
const onRequest = (message: unknown) => {
  const { request: sent } = message as { request: { origin: string; method: string; path: string; body?: unknown } };
  if (sent.origin !== "http://runner" || sent.method !== "POST") return;
  const body = sent.body instanceof Uint8Array ? Buffer.from(sent.body).toString("utf8") : typeof sent.body === "string" ? sent.body : "";
  sentToRunners.push({ path: sent.path, body });
};

describe("a chat fitted on the engine's refusal", () => {
  let gateway: RealEngineGateway;
  let runner: Agent;

  before(async () => {
    gateway = await startRealEngineGateway();
    subscribe("undici:request:create", onRequest);
    // Loads the runner of that context, and gives its socket.
    await chat({ messages: [{ role: "user", content: "Hi" }], max_tokens: 1 });
    const loaded = gateway.loader.runners().find((info) => info.contextSize === contextSize);
    assert.ok(loaded, "a runner of the asked context");
    runner = new Agent({ connect: { socketPath: runnerSocketPath(gateway.runnersDir, loaded.slot) } });
  });

  after(async () => {
    unsubscribe("undici:request:create", onRequest);
    await runner?.close();
    await gateway?.close();
  });

  /** A request through the engines layer, truncating unless told otherwise. */
  async function post(path: string, fields: Record<string, unknown>) {
    const response = await fetch(`${gateway.url}/engines${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "tiny", temperature: 0, truncate: true, runner_options: runnerOptions, ...fields }),
    });
    return { status: response.status, text: await response.text() };
  }
  const chat = (fields: Record<string, unknown>) => post("/v1/chat/completions", fields);

  it("llama-server refuses a prompt longer than its context with exceed_context_size_error, streamed or not, before streaming anything", async () => {
    for (const stream of [false, true]) {
      const { statusCode, headers, body } = await request("http://runner/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "tiny", messages: longChat, stream, max_tokens: 2 }),
        dispatcher: runner,
      });
      const refusal = (await body.json()) as { error: { type: string } };
      assert.equal(statusCode, 400, `stream: ${stream}`);
      assert.match(String(headers["content-type"]), /application\/json/, "an error object, not an event stream");
      assert.equal(refusal.error.type, "exceed_context_size_error");
    }
  });

  it("a chat that fits goes to the engine at once, without asking its template or tokenizer", async () => {
    sentToRunners.length = 0;
    const { status } = await chat({ messages: [{ role: "user", content: "Say something." }], max_tokens: 2, stream: true });
    assert.equal(status, 200);
    assert.deepEqual(sentToRunners.map((sent) => sent.path), ["/v1/chat/completions"]);
  });

  it("TestChatPrompt/truncate messages: a chat too long is refused by the engine, then sent as fitting first would send it", async () => {
    for (const stream of [true, false]) {
      sentToRunners.length = 0;
      const { status, text } = await chat({ messages: longChat, max_tokens: 2, stream });
      assert.equal(status, 200, text);
      const paths = sentToRunners.map((sent) => sent.path);
      assert.equal(paths[0], "/v1/chat/completions", "sent as it came");
      assert.equal(paths.at(-1), "/v1/chat/completions", "then fitted and sent again");
      assert.ok(paths.includes("/apply-template"), "fitted with the runner's template");

      const sent = JSON.parse(sentToRunners.at(-1)!.body) as { messages: typeof longChat };
      const asCame = new TextEncoder().encode(sentToRunners[0]!.body);
      const fitted = await fitCompletionContext("/v1/chat/completions", asCame, true, { contextSize, dispatcher: runner, model: {} }, AbortSignal.timeout(30_000));
      const fittedFirst = JSON.parse(Buffer.from(fitted).toString()) as { messages: typeof longChat };
      assert.deepEqual(sent, fittedFirst, "what fitting first sends");
      assert.ok(sent.messages.length < longChat.length, "the oldest messages dropped");
      assert.deepEqual(sent.messages[0], longChat[0], "the system prompt kept");
      assert.deepEqual(sent.messages.at(-1), longChat.at(-1), "the latest message kept");
    }
  });

  it("a prompt longer in bytes than the context, yet fitting, goes at once, without being tokenized first", async () => {
    sentToRunners.length = 0;
    const { status, text } = await post("/v1/completions", { prompt: "weather ".repeat(40), max_tokens: 2 });
    assert.equal(status, 200, text);
    assert.deepEqual(sentToRunners.map((sent) => sent.path), ["/v1/completions"]);
  });

  it("TestLlamaServerCompletionContextShiftTruncatesPromptOverContext: a prompt too long is refused by the engine, then sent cut as fitting first cuts it", async () => {
    sentToRunners.length = 0;
    const { status, text } = await post("/v1/completions", { prompt: "weather ".repeat(1000), max_tokens: 2 });
    assert.equal(status, 200, text);
    const paths = sentToRunners.map((sent) => sent.path);
    assert.deepEqual([paths[0], paths.at(-1)], ["/v1/completions", "/v1/completions"]);
    assert.ok(paths.includes("/tokenize"));
    const sent = JSON.parse(sentToRunners.at(-1)!.body) as { prompt: number[] };
    const asCame = new TextEncoder().encode(sentToRunners[0]!.body);
    const fitted = await fitCompletionContext("/v1/completions", asCame, true, { contextSize, dispatcher: runner, model: {} }, AbortSignal.timeout(30_000));
    assert.deepEqual(sent, JSON.parse(Buffer.from(fitted).toString()), "what fitting first sends");
    assert.ok(Array.isArray(sent.prompt) && sent.prompt.length < contextSize, "the prompt's middle cut, as token ids");
  });

  it("truncate: false is refused with the counts, as when fitting first, a chat or a prompt", async () => {
    for (const { status, text } of [
      await chat({ messages: longChat, max_tokens: 2, truncate: false }),
      await post("/v1/completions", { prompt: "weather ".repeat(1000), max_tokens: 2, truncate: false }),
    ]) {
      assert.equal(status, 400);
      const { error } = JSON.parse(text) as { error: { message: string; code: string } };
      assert.equal(error.code, "context_length_exceeded");
      assert.match(error.message, /^the prompt takes \d+ tokens and the model's context holds 256$/);
    }
  });
});
