/**
 * Ollama's capability errors, its error words and the request fields the
 * gateway once dropped (logprobs, context, suffix, roles, keep_alive on
 * embeddings), through the real gateway and llama-server on the generated
 * models: tiny (chat, tools, fill-in-the-middle), tiny-tools (no FIM),
 * tiny-draft (no template: no tools), tiny-embed (embeddings only). Cases
 * ported from Ollama's server/routes_generate_test.go carry its test names.
 */
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, test } from "node:test";
import type { ChatResponse, GenerateResponse } from "ollama";
import { useGateway } from "../support/gateway.ts";

const served = useGateway();

const png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
const weatherTool = {
  type: "function",
  function: { name: "get_weather", description: "The weather in a city", parameters: { type: "object", properties: { city: { type: "string" } } } },
};

async function post(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown>; text: string }> {
  const response = await fetch(`${served.gateway.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // NDJSON or plain text: the caller reads `text`.
  }
  return { status: response.status, json, text };
}

/** Asserts Ollama's refusal exactly: the status and the body, byte for byte. */
async function assertRefused(path: string, body: unknown, status: number, error: string): Promise<void> {
  const reply = await post(path, body);
  assert.equal(reply.status, status, reply.text);
  assert.equal(reply.text, JSON.stringify({ error }));
}

async function tokenCount(model: string, content: string): Promise<number> {
  const { status, json } = await post("/engines/tokenize", { model, content, add_special: false, parse_special: false });
  assert.equal(status, 200);
  return (json.tokens as number[]).length;
}

async function loadedModels(): Promise<string[]> {
  return (await served.ollama.ps()).models.map((model) => model.name);
}

describe("capabilities, in Ollama's words", () => {
  test("TestGenerateChat/missing capabilities chat: an embedding model cannot chat", async () => {
    await assertRefused("/api/chat", { model: "tiny-embed" }, 400, '"tiny-embed" does not support chat');
    await assertRefused("/api/chat", { model: "tiny-embed", messages: [{ role: "user", content: "hi" }] }, 400, '"tiny-embed" does not support chat');
  });

  test("the same on /v1: OpenAI's error object in Ollama's words, before anything loads", async () => {
    for (const [path, body, word] of [
      ["/v1/chat/completions", { model: "tiny-embed", messages: [{ role: "user", content: "hi" }] }, "chat"],
      ["/v1/completions", { model: "tiny-embed", prompt: "hi" }, "generate"],
    ] as const) {
      const reply = await post(path, body);
      assert.equal(reply.status, 400, reply.text);
      assert.deepEqual(reply.json.error, { message: `"tiny-embed" does not support ${word}`, type: "invalid_request_error", code: null });
    }
  });

  test("TestGenerate/missing capabilities generate: an embedding model cannot generate", async () => {
    await assertRefused("/api/generate", { model: "tiny-embed" }, 400, '"tiny-embed" does not support generate');
    await assertRefused("/api/generate", { model: "tiny-embed", prompt: "hi" }, 400, '"tiny-embed" does not support generate');
  });

  test("TestGenerateChat/missing thinking capability, and model can't think but think set false", async () => {
    const messages = [{ role: "user", content: "Hello!" }];
    await assertRefused("/api/chat", { model: "tiny", messages, think: true }, 400, '"tiny" does not support thinking');
    await assertRefused("/api/generate", { model: "tiny", prompt: "Hello!", think: "low" }, 400, '"tiny" does not support thinking');
    // "max" is one of Ollama's levels: accepted, and refused only because tiny cannot think.
    await assertRefused("/api/chat", { model: "tiny", messages, think: "max" }, 400, '"tiny" does not support thinking');
    await assertRefused(
      "/api/chat",
      { model: "tiny", messages, think: "extreme" },
      400,
      'invalid think value: "extreme" (must be "high", "medium", "low", "max", true, or false)',
    );
    const off = await served.ollama.chat({ model: "tiny", messages, think: false, options: { num_predict: 2 } });
    assert.equal(off.done, true);
  });

  test("TestGenerate/missing capabilities suffix: a model without fill-in-the-middle cannot insert", async () => {
    await assertRefused("/api/generate", { model: "tiny-tools", prompt: "def add(", suffix: "    return c" }, 400, '"tiny-tools" does not support insert');
  });

  test("tools on a model whose template takes none, images on a model without vision", async () => {
    const messages = [{ role: "user", content: "weather?" }];
    await assertRefused("/api/chat", { model: "tiny-draft", messages, tools: [weatherTool] }, 400, '"tiny-draft" does not support tools');
    await assertRefused("/api/chat", { model: "tiny", messages: [{ ...messages[0], images: [png] }] }, 400, '"tiny" does not support vision');
    await assertRefused("/api/generate", { model: "tiny", prompt: "what is this?", images: [png] }, 400, '"tiny" does not support vision');
  });

  test("suffix on a model with fill-in-the-middle: the engine's infill, both halves in the prompt", async () => {
    const prompt = "def add(a, b):\n    c = ";
    const suffix = "\n    return c\n";
    const parts: GenerateResponse[] = [];
    for await (const part of await served.ollama.generate({ model: "tiny", prompt, suffix, stream: true, options: { num_predict: 4, temperature: 0 } })) {
      parts.push(part);
    }
    const final = parts.at(-1)!;
    assert.equal(final.done_reason, "length");
    assert.equal(final.eval_count, 4);
    assert.ok(parts.slice(0, -1).map((part) => part.response).join("").length > 0);
    // The prefix, the suffix and the model's three FIM tokens around them.
    assert.equal(final.prompt_eval_count, (await tokenCount("tiny", prompt)) + (await tokenCount("tiny", suffix)) + 3);
  });
});

describe("errors: the engine's message, its status, never its JSON in a string", () => {
  const tooLong = "hello ".repeat(6000);

  // With `truncate` at its default, Ollama cuts such a prompt to fit (llm/llama_server.go); `false` refuses it.
  test("a prompt beyond the context, truncate false: 400 in Ollama's words on /api/generate", async () => {
    const reply = await post("/api/generate", { model: "tiny", prompt: tooLong, raw: true, stream: false, truncate: false });
    assert.equal(reply.status, 400, reply.text);
    const error = reply.json.error;
    assert.equal(typeof error, "string");
    assert.ok(!(error as string).trimStart().startsWith("{"), `no JSON inside the string: ${error}`);
    assert.match(error as string, /context/);
  });

  test("the same on /v1/chat/completions: OpenAI's error object with a string code", async () => {
    const reply = await post("/v1/chat/completions", { model: "tiny", messages: [{ role: "user", content: tooLong }], truncate: false });
    assert.equal(reply.status, 400, reply.text);
    const error = reply.json.error as Record<string, unknown>;
    assert.equal(error.type, "invalid_request_error");
    assert.equal(error.code, "context_length_exceeded");
    assert.equal(typeof error.message, "string");
    assert.ok(!(error.message as string).startsWith("{"));
  });

  test("the engine's own refusal (a schema it cannot compile): its message and its 400, on /api/chat and /v1", async () => {
    const format = { type: "object", properties: { a: { $ref: "#/definitions/missing" } } };
    const messages = [{ role: "user", content: "hi" }];
    const chat = await post("/api/chat", { model: "tiny", messages, format, stream: false, options: { num_predict: 2 } });
    assert.equal(chat.status, 400, chat.text);
    assert.match(chat.json.error as string, /\$ref/);
    assert.ok(!(chat.json.error as string).includes('{"'), chat.text);
    const response_format = { type: "json_schema", json_schema: { name: "x", schema: format } };
    const openai = await post("/v1/chat/completions", { model: "tiny", messages, max_tokens: 2, response_format });
    assert.equal(openai.status, 400, openai.text);
    const error = openai.json.error as Record<string, unknown>;
    assert.match(error.message as string, /\$ref/);
    assert.ok(error.code === null || typeof error.code === "string", openai.text);
  });

  test("llama-server's numeric code, straight from the engine: infill on a model without FIM tokens", async () => {
    const reply = await post("/engines/infill", { model: "tiny-tools", input_prefix: "a", input_suffix: "b", max_tokens: 2 });
    assert.equal(reply.status, 501, reply.text);
    assert.deepEqual(reply.json.error, {
      message: "Infill is not supported by this model: prefix token is missing. suffix token is missing. middle token is missing. ",
      type: "server_error",
      code: "not_supported",
    });
  });

  test("a tool call cut off by num_predict: the text produced (raw where the parser held it), done_reason length, no 500", async () => {
    const cutOff = (num_predict: number) =>
      served.ollama.chat({
        model: "tiny-tools",
        messages: [{ role: "user", content: "weather in Paris?" }],
        tools: [weatherTool],
        options: { num_predict, temperature: 0 },
      });
    const reply = await cutOff(12);
    assert.equal(reply.done_reason, "length");
    assert.equal(reply.eval_count, 12);
    assert.equal(reply.message.tool_calls, undefined);
    // The call as far as it got: its name, and its arguments cut short.
    assert.match(reply.message.content, /^\{"name": "get_weather", "arguments": \{"city/);
    assert.throws(() => JSON.parse(reply.message.content));
    // Cut before the engine's streaming parser let anything out: the raw text, as Ollama answers it
    // (routes.go: `toolParser.Content()` once done); the gateway asks the engine for its whole reply.
    const early = await cutOff(5);
    assert.equal(early.done_reason, "length");
    assert.equal(early.eval_count, 5);
    assert.match(early.message.content, /^<tool_call>\n\{"name/);
    // Streamed, the text the parser held back never leaves llama-server: the reply is as far as it released (see the README).
    let streamed = "";
    let last: ChatResponse | undefined;
    for await (const part of await served.ollama.chat({
      model: "tiny-tools",
      messages: [{ role: "user", content: "weather in Paris?" }],
      tools: [weatherTool],
      stream: true,
      options: { num_predict: 5, temperature: 0 },
    })) {
      streamed += part.message.content;
      last = part;
    }
    assert.equal(last?.done_reason, "length");
    assert.ok(early.message.content.startsWith(streamed), `${JSON.stringify(streamed)} is a beginning of ${JSON.stringify(early.message.content)}`);
  });
});

describe("fields Ollama has", () => {
  test("logprobs and top_logprobs on chat, streamed per chunk in Ollama's shape", async () => {
    const parts: ChatResponse[] = [];
    for await (const part of await served.ollama.chat({
      model: "tiny",
      messages: [{ role: "user", content: "Hello" }],
      stream: true,
      logprobs: true,
      top_logprobs: 3,
      options: { num_predict: 4, temperature: 0 },
    })) {
      parts.push(part);
    }
    const chunks = parts.slice(0, -1);
    assert.equal(chunks.length, 4);
    for (const chunk of chunks) {
      const logprobs = chunk.logprobs!;
      assert.equal(logprobs.length, 1, JSON.stringify(chunk));
      const [only] = logprobs;
      assert.equal(only!.token, chunk.message.content);
      // ollama-js's type leaves out Ollama's `bytes`.
      assert.deepEqual((only as { bytes?: number[] }).bytes, [...Buffer.from(only!.token)]);
      assert.ok(only!.logprob <= 0);
      assert.equal(only!.top_logprobs!.length, 3);
      // Greedy: the token chosen is the likeliest.
      assert.equal(only!.top_logprobs![0]!.token, only!.token);
    }
  });

  test("logprobs on generate, folded into the reply when not streaming; top_logprobs 0 keeps no alternatives", async () => {
    const reply = await served.ollama.generate({ model: "tiny", prompt: "Hello", stream: false, logprobs: true, options: { num_predict: 3, temperature: 0 } });
    assert.equal(reply.logprobs!.length, 3);
    assert.equal(reply.logprobs!.map((item) => item.token).join(""), reply.response);
    assert.ok(reply.logprobs!.every((item) => item.top_logprobs === undefined));
  });

  test("TestGenerateLogprobs/invalid top_logprobs negative and too high", async () => {
    for (const top_logprobs of [-1, 21]) {
      await assertRefused("/api/generate", { model: "tiny", prompt: "hi", logprobs: true, top_logprobs }, 400, "top_logprobs must be between 0 and 20");
      await assertRefused("/api/chat", { model: "tiny", messages: [], logprobs: true, top_logprobs }, 400, "top_logprobs must be between 0 and 20");
    }
  });

  test("logprobs on /v1/chat/completions, passed through from the engine", async () => {
    const reply = await post("/v1/chat/completions", {
      model: "tiny",
      messages: [{ role: "user", content: "Hello" }],
      logprobs: true,
      top_logprobs: 2,
      max_tokens: 3,
    });
    assert.equal(reply.status, 200, reply.text);
    const choice = (reply.json.choices as { logprobs: { content: { token: string; top_logprobs: unknown[] }[] } }[])[0]!;
    assert.equal(choice.logprobs.content.length, 3);
    assert.equal(choice.logprobs.content[0]!.top_logprobs.length, 2);
  });

  test("generate's context: the prompt's and reply's token ids; given back, the conversation continues after them", async () => {
    const options = { num_predict: 4, temperature: 0 };
    const first = await served.ollama.generate({ model: "tiny", prompt: "Hello", stream: false, options });
    assert.ok(first.context.length > first.prompt_eval_count, `context ${first.context.length}, prompt ${first.prompt_eval_count}`);
    assert.ok(first.context.every((id) => Number.isInteger(id) && id >= 0));
    const fresh = await served.ollama.generate({ model: "tiny", prompt: "And then?", stream: false, options });
    const next = await served.ollama.generate({ model: "tiny", prompt: "And then?", context: first.context, stream: false, options });
    // The engine saw the whole earlier conversation, then the new turn.
    assert.equal(next.prompt_eval_count, first.context.length + fresh.prompt_eval_count);
    assert.deepEqual(next.context.slice(0, first.context.length), first.context);
    assert.ok(next.context.length > first.context.length + fresh.prompt_eval_count);
    // Streamed, the final object carries it too.
    const parts: GenerateResponse[] = [];
    for await (const part of await served.ollama.generate({ model: "tiny", prompt: "Hello", stream: true, options })) parts.push(part);
    assert.deepEqual(parts.at(-1)!.context, first.context);
  });

  test("roles are case-insensitive: USER is the user's turn", async () => {
    const options = { num_predict: 1, temperature: 0 };
    const lower = await served.ollama.chat({ model: "tiny", messages: [{ role: "user", content: "Hello there" }], options });
    const upper = await served.ollama.chat({ model: "tiny", messages: [{ role: "USER", content: "Hello there" }], options });
    assert.equal(upper.prompt_eval_count, lower.prompt_eval_count);
    assert.equal(upper.message.content, lower.message.content);
  });

  test("keep_alive 0 on /api/embed and /api/embeddings unloads, as on chat", async () => {
    for (const call of [
      () => served.ollama.embed({ model: "tiny-embed", input: "hello", keep_alive: 0 }),
      () => served.ollama.embeddings({ model: "tiny-embed", prompt: "hello", keep_alive: 0 }),
      async () => {
        await served.ollama.embed({ model: "tiny-embed", input: "hello" });
        assert.ok((await loadedModels()).includes("tiny-embed:latest"));
        return served.ollama.embed({ model: "tiny-embed", input: [], keep_alive: 0 });
      },
    ]) {
      await call();
      await waitFor(async () => !(await loadedModels()).includes("tiny-embed:latest"), "tiny-embed unloaded");
    }
  });

  test("/api/ps lists a model once, though it runs for chat and for embeddings", async () => {
    await served.ollama.chat({ model: "tiny", messages: [{ role: "user", content: "hi" }], options: { num_predict: 1 } });
    await served.ollama.embed({ model: "tiny", input: "hi" });
    const runners = (await (await fetch(`${served.gateway.url}/engines/ps`)).json()) as { model_name: string; mode: string }[];
    assert.deepEqual(runners.filter((runner) => runner.model_name === "tiny:latest").map((runner) => runner.mode).sort(), ["completion", "embedding"]);
    assert.deepEqual((await loadedModels()).filter((name) => name === "tiny:latest"), ["tiny:latest"]);
  });

  test("/v1/chat/completions echoes the model as the client named it, streamed or not", async () => {
    const reply = await post("/v1/chat/completions", { model: "tiny", messages: [{ role: "user", content: "hi" }], max_tokens: 2 });
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.json.model, "tiny");
    const streamed = await post("/v1/chat/completions", { model: "tiny", messages: [{ role: "user", content: "hi" }], max_tokens: 2, stream: true });
    const events = streamed.text.split("\n").filter((line) => line.startsWith("data: {")).map((line) => JSON.parse(line.slice(6)) as { model: string });
    assert.ok(events.length > 0);
    assert.deepEqual([...new Set(events.map((event) => event.model))], ["tiny"]);
  });
});

/** Polls a condition the gateway reaches on its own (a runner stopping), failing after a generous while. */
async function waitFor(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (let tries = 0; tries < 200; tries++) {
    if (await condition()) return;
    await sleep(100);
  }
  assert.fail(`never: ${what}`);
}
