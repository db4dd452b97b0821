/**
 * ollama-js, the real client from npm, against the Ollama layer in front of
 * the real engines layer and llama-server with the tiny fixture models: the
 * gateway process itself, as users start it.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type ChatResponse, type GenerateResponse } from "ollama";
import { useGateway } from "../support/gateway.ts";

const served = useGateway();

const weatherTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "The weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};

function assertFinal(final: ChatResponse | GenerateResponse, doneReason: string) {
  assert.equal(final.done, true);
  assert.equal(final.done_reason, doneReason);
  for (const key of ["total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration", "eval_count", "eval_duration"] as const) {
    assert.ok(Number.isInteger(final[key]) && final[key] >= 0, `${key} is a non-negative integer: ${final[key]}`);
  }
  assert.ok(final.prompt_eval_count > 0);
  assert.ok(!Number.isNaN(Date.parse(final.created_at as unknown as string)));
}

describe("ollama-js against the gateway", () => {
  test("version is a dotted number of at least 0.6.4, also for HEAD", async () => {
    const { version } = await served.ollama.version();
    assert.match(version, /^\d+\.\d+\.\d+$/);
    const [major, minor, patch] = version.split(".").map(Number) as [number, number, number];
    assert.ok(major > 0 || minor > 6 || (minor === 6 && patch >= 4));
    const head = await fetch(`${served.gateway.url}/api/version`, { method: "HEAD" });
    assert.equal(head.status, 200);
  });

  test("list: tagged names, sizes, digests and GGUF details", async () => {
    const { models } = await served.ollama.list();
    const tiny = models.find((model) => model.name === "tiny:latest");
    assert.ok(tiny, JSON.stringify(models.map((model) => model.name)));
    assert.equal(tiny.model, "tiny:latest");
    assert.ok(tiny.size > 0);
    assert.match(tiny.digest, /^[0-9a-f]{64}$/);
    assert.equal(tiny.details.format, "gguf");
    assert.equal(tiny.details.family, "llama");
    assert.match(tiny.details.parameter_size, /^\d+(\.\d+)?[KMB]$/);
    assert.equal(tiny.details.quantization_level, "F16");
  });

  test("show: capabilities and the architecture's context length", async () => {
    const shown = await served.ollama.show({ model: "tiny" });
    assert.ok(shown.capabilities.includes("completion"));
    const info = shown.model_info as unknown as Record<string, unknown>;
    assert.equal(info["general.architecture"], "llama");
    assert.ok(typeof info["llama.context_length"] === "number");
  });

  test("chat, streaming: content chunks, then one done object with every count", async () => {
    const parts: ChatResponse[] = [];
    for await (const part of await served.ollama.chat({
      model: "tiny",
      messages: [{ role: "user", content: "Hello" }],
      stream: true,
      options: { num_predict: 5, temperature: 0 },
    })) {
      parts.push(part);
    }
    const final = parts.at(-1)!;
    assertFinal(final, "length");
    assert.equal(final.eval_count, 5);
    assert.equal(parts.length, 6);
    for (const part of parts.slice(0, -1)) {
      assert.equal(part.done, false);
      assert.equal(part.message.role, "assistant");
      assert.ok(part.message.content.length > 0);
      assert.equal(part.eval_count, undefined, "counts only on the final object");
    }
  });

  test("chat, not streaming: one object with the whole reply", async () => {
    const reply = await served.ollama.chat({
      model: "tiny",
      messages: [{ role: "user", content: "Hello" }],
      stream: false,
      options: { num_predict: 4, temperature: 0 },
    });
    assertFinal(reply, "length");
    assert.equal(reply.eval_count, 4);
    assert.ok(reply.message.content.length > 0);
  });

  test("chat with tools: the call arrives whole with object arguments, and the result goes back", async () => {
    const messages = [{ role: "user", content: "What is the weather in Paris?" }];
    const reply = await served.ollama.chat({ model: "tiny-tools", messages, tools: [weatherTool], stream: false });
    assertFinal(reply, "stop");
    const calls = reply.message.tool_calls ?? [];
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.function.name, "get_weather");
    assert.deepEqual(calls[0]!.function.arguments, { city: "Paris" });

    // History with the call (object arguments) and the tool's answer is accepted.
    const followUp = await served.ollama.chat({
      model: "tiny",
      messages: [...messages, reply.message, { role: "tool", content: '{"sky":"clear"}', tool_name: "get_weather" }],
      stream: false,
      options: { num_predict: 2 },
    });
    assertFinal(followUp, "length");
  });

  test("chat with a JSON schema format: the reply parses and matches", async () => {
    const format = { type: "object", properties: { city: { type: "string", maxLength: 10 } }, required: ["city"] };
    const reply = await served.ollama.chat({ model: "tiny", messages: [{ role: "user", content: "A city?" }], format, stream: false, options: { num_predict: 64 } });
    const value = JSON.parse(reply.message.content) as { city: unknown };
    assert.equal(typeof value.city, "string");
    assert.ok((value.city as string).length <= 10);
  });

  test("generate, streaming and not; raw as a plain completion", async () => {
    const parts: GenerateResponse[] = [];
    for await (const part of await served.ollama.generate({ model: "tiny", prompt: "Once", stream: true, options: { num_predict: 3 } })) parts.push(part);
    assertFinal(parts.at(-1)!, "length");
    assert.equal(parts.length, 4);
    assert.ok(parts.slice(0, -1).every((part) => (part.response ?? "").length > 0 && part.done === false));

    const whole = await served.ollama.generate({ model: "tiny", prompt: "Once", system: "Be brief.", stream: false, options: { num_predict: 3 } });
    assertFinal(whole, "length");
    assert.ok((whole.response ?? "").length > 0);

    const raw = await served.ollama.generate({ model: "tiny", prompt: "Once upon a time", raw: true, stream: false, options: { num_predict: 3 } });
    assertFinal(raw, "length");
    assert.equal(raw.prompt_eval_count, 4, "the prompt as is, no template around it");
  });

  test("an empty prompt loads the model; with keep_alive 0 it unloads it; ps shows what is loaded", async () => {
    const loaded = await served.ollama.generate({ model: "tiny", prompt: "", stream: false });
    assert.equal(loaded.done_reason, "load");
    const { models } = await served.ollama.ps();
    const running = models.find((model) => model.name === "tiny:latest");
    assert.ok(running, JSON.stringify(models));
    assert.ok(running.size > 0);
    assert.ok(!Number.isNaN(Date.parse(running.expires_at as unknown as string)));
    assert.equal(running.details.family, "llama");

    // Asked to stream, Ollama still answers a load with one application/json object (routes.go, c.JSON): ollama-js reads it as one part.
    const streamed = [];
    for await (const part of await served.ollama.chat({ model: "tiny", messages: [], stream: true })) streamed.push(part);
    assert.deepEqual(streamed.map((part) => part.done_reason), ["load"]);

    const unloaded = await served.ollama.generate({ model: "tiny", prompt: "", keep_alive: 0, stream: false });
    assert.equal(unloaded.done_reason, "unload");
    const after = await served.ollama.ps();
    assert.equal(after.models.some((model) => model.name === "tiny:latest"), false);
  });

  test("keep_alive in every form clients send is accepted", async () => {
    for (const keep_alive of [300, "5m", "1h30m", "300", -1, "-1"]) {
      const reply = await served.ollama.generate({ model: "tiny", prompt: "Hi", keep_alive, stream: false, options: { num_predict: 1 } });
      assert.equal(reply.done, true, `keep_alive ${JSON.stringify(keep_alive)}`);
    }
  });

  test("embed: L2-normalised vectors, cut to dimensions; embeddings: the raw vector", async () => {
    const { embeddings, prompt_eval_count } = await served.ollama.embed({ model: "tiny-embed", input: ["hello", "world"] });
    assert.equal(embeddings.length, 2);
    for (const vector of embeddings) assert.ok(Math.abs(Math.hypot(...vector) - 1) < 1e-6);
    assert.ok(prompt_eval_count > 0);
    const cut = await served.ollama.embed({ model: "tiny-embed", input: "hello", dimensions: 8 });
    assert.equal(cut.embeddings[0]!.length, 8);
    assert.ok(Math.abs(Math.hypot(...cut.embeddings[0]!) - 1) < 1e-6);

    const { embedding } = await served.ollama.embeddings({ model: "tiny-embed", prompt: "hello" });
    assert.equal(embedding.length, embeddings[0]!.length);
    const norm = Math.hypot(...embedding);
    assert.ok(embedding.every((x, i) => Math.abs(x / norm - embeddings[0]![i]!) < 1e-4), "same direction as /api/embed's");
  });

  test("errors: unknown model 404, bad option 400, in Ollama's words", async () => {
    await assert.rejects(served.ollama.chat({ model: "nope", messages: [{ role: "user", content: "hi" }] }), {
      name: "ResponseError",
      status_code: 404,
      error: 'model "nope" not found, try pulling it first',
    });
    await assert.rejects(served.ollama.generate({ model: "tiny", prompt: "hi", options: { top_k: "many" as unknown as number } }), {
      status_code: 400,
      error: 'option "top_k" must be of type integer',
    });
    await assert.rejects(served.ollama.generate({ model: "tiny", prompt: "hi", raw: true, system: "x" }), { status_code: 400 });
  });
});

describe("the HTTP surface clients do not hide", () => {
  const post = (path: string, body: string) => fetch(`${served.gateway.url}${path}`, { method: "POST", body });

  test("stream absent means NDJSON streaming: one object per line, no blank lines", async () => {
    const response = await post("/api/chat", JSON.stringify({ model: "tiny", messages: [{ role: "user", content: "Hi" }], options: { num_predict: 3 } }));
    assert.equal(response.headers.get("content-type"), "application/x-ndjson");
    const text = await response.text();
    assert.ok(text.endsWith("\n"));
    const lines = text.slice(0, -1).split("\n");
    assert.equal(lines.length, 4);
    const objects = lines.map((line) => JSON.parse(line) as { done: boolean });
    assert.deepEqual(objects.map((o) => o.done), [false, false, false, true]);
  });

  test("malformed JSON, a missing model and wrong types are 400 with {error}", async () => {
    for (const body of ["{nope", "", JSON.stringify({ messages: [] }), JSON.stringify({ model: "tiny", messages: "hi" })]) {
      const response = await post("/api/chat", body);
      assert.equal(response.status, 400, body);
      assert.equal(response.headers.get("content-type"), "application/json");
      assert.equal(typeof ((await response.json()) as { error: unknown }).error, "string");
    }
  });

  test("`name` is accepted for `model`", async () => {
    const response = await post("/api/show", JSON.stringify({ name: "tiny" }));
    assert.equal(response.status, 200);
  });

  test("unknown /api paths are a JSON 404", async () => {
    const response = await fetch(`${served.gateway.url}/api/nothing-here`);
    assert.equal(response.status, 404);
    assert.deepEqual(await response.json(), { error: "GET /api/nothing-here not found" });
  });

  test("CORS: local origins allowed, others not", async () => {
    const preflight = (origin: string) =>
      fetch(`${served.gateway.url}/api/chat`, { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST" } });
    assert.equal((await preflight("http://localhost:3000")).headers.get("access-control-allow-origin"), "http://localhost:3000");
    assert.equal((await preflight("https://evil.example")).headers.get("access-control-allow-origin"), null);
  });
});
