/**
 * `@anthropic-ai/sdk`, the real client from npm, against the gateway's
 * Anthropic Messages API in front of the real llama-server and the tiny
 * fixture models (`tiny-tools` always calls `get_weather({"city": "Paris"})`).
 */
import Anthropic from "@anthropic-ai/sdk";
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { eventually } from "../support/eventually.ts";
import { useGateway } from "../support/gateway.ts";

const served = useGateway();
const client = (path = "") => new Anthropic({ baseURL: served.gateway.url + path, apiKey: "unused", maxRetries: 0 });

const weatherTool: Anthropic.Tool = {
  name: "get_weather",
  description: "The weather in a city",
  input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};
const question: Anthropic.MessageParam[] = [{ role: "user", content: "What is the weather in Paris?" }];

describe("@anthropic-ai/sdk against the gateway", () => {
  test("messages.create: a whole message, named as asked, with usage", async () => {
    const message = await client().messages.create({ model: "tiny", max_tokens: 8, messages: [{ role: "user", content: "Hello" }] });
    assert.equal(message.type, "message");
    assert.equal(message.role, "assistant");
    assert.equal(message.model, "tiny");
    // llama-server's own id (`chatcmpl-` and 32 letters and digits) renamed: its native /v1/messages answered,
    // not the chat completions translation (whose ids are 24 hex digits).
    assert.match(message.id, /^msg_[A-Za-z0-9]{32}$/);
    assert.equal(message.content[0]?.type, "text");
    assert.ok(["max_tokens", "end_turn"].includes(message.stop_reason ?? ""), String(message.stop_reason));
    assert.ok(message.usage.output_tokens > 0 && message.usage.output_tokens <= 8);
    assert.ok(message.usage.input_tokens + (message.usage.cache_read_input_tokens ?? 0) > 0);
  });

  test("messages.stream under /anthropic: the events add up to the final message", async () => {
    const stream = client("/anthropic").messages.stream({ model: "tiny", max_tokens: 10, system: "Be brief.", messages: [{ role: "user", content: "Hi" }] });
    const events: string[] = [];
    let streamed = "";
    stream.on("streamEvent", (event) => events.push(event.type));
    stream.on("text", (delta) => (streamed += delta));
    const message = await stream.finalMessage();
    assert.equal(events[0], "message_start");
    assert.equal(events.at(-1), "message_stop");
    assert.ok(events.includes("content_block_delta") && events.includes("message_delta"), events.join());
    const text = message.content.map((block) => (block.type === "text" ? block.text : "")).join("");
    assert.equal(text, streamed);
    assert.ok(text.length > 0);
    assert.equal(message.model, "tiny");
    assert.ok(["max_tokens", "end_turn"].includes(message.stop_reason ?? ""));
    assert.ok(message.usage.output_tokens > 0);
  });

  test("countTokens: the engine's own count, the same the reply reports", async () => {
    const long: Anthropic.MessageParam[] = [{ role: "user", content: "Tell me about the weather in Paris, London and Rome today." }];
    const { input_tokens: short } = await client().messages.countTokens({ model: "tiny", messages: [{ role: "user", content: "Hi" }] });
    const { input_tokens: counted } = await client().messages.countTokens({ model: "tiny", messages: long });
    assert.ok(short > 0 && counted > short, `${short} < ${counted}`);
    const reply = await client().messages.create({ model: "tiny", max_tokens: 1, messages: long });
    assert.equal(reply.usage.input_tokens + (reply.usage.cache_read_input_tokens ?? 0), counted);
  });

  test("an unknown model is a 404 not_found_error", async () => {
    const failure = await client().messages.create({ model: "no-such-model", max_tokens: 4, messages: question }).catch((error: unknown) => error);
    assert.ok(failure instanceof Anthropic.NotFoundError, String(failure));
    assert.deepEqual(Object.keys(failure.error as object).sort(), ["error", "type"]);
    assert.equal((failure.error as Anthropic.ErrorResponse).error.type, "not_found_error");
  });

  test("bad input is a 400 invalid_request_error naming the field, and the server keeps serving", async () => {
    const bad = { model: "tiny", messages: [{ role: "user", content: [{ type: "document", source: {} }] }] };
    for (const body of [{ ...bad, max_tokens: 4 }, { model: "tiny", messages: question }]) {
      const failure = await client()
        .messages.create(body as unknown as Anthropic.MessageCreateParamsNonStreaming)
        .catch((error: unknown) => error);
      assert.ok(failure instanceof Anthropic.BadRequestError, String(failure));
      const { error } = failure.error as Anthropic.ErrorResponse;
      assert.equal(error.type, "invalid_request_error");
      assert.match(error.message, /messages\.0\.content|max_tokens/);
    }
    const raw = await fetch(`${served.gateway.url}/v1/messages`, { method: "POST", body: "{not json" });
    assert.equal(raw.status, 400);
    assert.equal(((await raw.json()) as Anthropic.ErrorResponse).type, "error");
    const ok = await client().messages.create({ model: "tiny", max_tokens: 1, messages: question });
    assert.equal(ok.type, "message");
  });

  test("a wrong method on a Messages route is Anthropic's 405 (Allow: POST), a path it lacks its 404, both in its error shape, under / and /anthropic", async () => {
    for (const prefix of ["", "/anthropic"]) {
      for (const [method, path] of [["GET", "/v1/messages"], ["PUT", "/v1/messages"], ["DELETE", "/v1/messages"], ["GET", "/v1/messages/count_tokens"]] as const) {
        const reply = await fetch(`${served.gateway.url}${prefix}${path}`, { method });
        assert.equal(reply.status, 405, `${method} ${prefix}${path}`);
        assert.equal(reply.headers.get("allow"), "POST");
        // What api.anthropic.com answers to a GET of /v1/messages.
        assert.deepEqual(await reply.json(), { type: "error", error: { type: "invalid_request_error", message: "Method Not Allowed" } });
      }
      const head = await fetch(`${served.gateway.url}${prefix}/v1/messages`, { method: "HEAD" });
      assert.equal(head.status, 405);
      for (const [method, path] of [["GET", "/v1/messages/batches"], ["POST", "/v1/messages/nope"], ["GET", "/v1/messages/count_tokens/x"]] as const) {
        const reply = await fetch(`${served.gateway.url}${prefix}${path}`, { method, ...(method === "POST" ? { body: "{}" } : {}) });
        assert.equal(reply.status, 404, `${method} ${prefix}${path}`);
        assert.deepEqual(await reply.json(), { type: "error", error: { type: "not_found_error", message: `${method} ${prefix}${path} not found` } });
      }
    }
    // The SDK reads the shape: a 404 is its NotFoundError.
    const failure = await client().get("/v1/messages/batches").catch((error: unknown) => error);
    assert.ok(failure instanceof Anthropic.NotFoundError, String(failure));
    assert.equal((failure.error as Anthropic.ErrorResponse).error.type, "not_found_error");
  });

  test("a tool round trip: tool_use, streamed and whole, then the tool's result", async () => {
    const first = await client().messages.create({ model: "tiny-tools", max_tokens: 64, tools: [weatherTool], messages: question });
    assert.equal(first.stop_reason, "tool_use");
    const use = first.content.find((block): block is Anthropic.ToolUseBlock => block.type === "tool_use");
    assert.ok(use, JSON.stringify(first.content));
    assert.equal(use.name, "get_weather");
    assert.deepEqual(use.input, { city: "Paris" });
    assert.match(use.id, /^toolu_/);

    const streamed = await client().messages.stream({ model: "tiny-tools", max_tokens: 64, tools: [weatherTool], messages: question }).finalMessage();
    const streamedUse = streamed.content.find((block) => block.type === "tool_use");
    assert.deepEqual(streamedUse && { name: streamedUse.name, input: streamedUse.input }, { name: "get_weather", input: { city: "Paris" } });
    assert.equal(streamed.stop_reason, "tool_use");

    const answer = await client().messages.create({
      model: "tiny-tools",
      max_tokens: 4,
      tools: [weatherTool],
      messages: [
        ...question,
        { role: "assistant", content: first.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "Sunny, 21 °C" }] },
      ],
    });
    assert.equal(answer.type, "message");
    assert.ok(answer.usage.input_tokens + (answer.usage.cache_read_input_tokens ?? 0) > first.usage.input_tokens + (first.usage.cache_read_input_tokens ?? 0));
  });

  test("a client leaving a stream mid-way (/v1/messages, and /v1/responses alike): the engine's request is cancelled and the runner released", async (t) => {
    const runners = async () => (await (await fetch(`${served.gateway.url}/engines/ps`)).json()) as { in_use: boolean; requests_in_flight: number }[];
    const streams = [
      ["/v1/messages", { model: "tiny", max_tokens: 100_000, stream: true, messages: [{ role: "user", content: "Tell a long story." }] }],
      ["/v1/responses", { model: "tiny", max_output_tokens: 100_000, stream: true, input: "Tell a long story." }],
    ] as const;
    for (const [path, body] of streams) {
      const leaving = new AbortController();
      const response = await fetch(served.gateway.url + path, { method: "POST", body: JSON.stringify(body), signal: leaving.signal });
      const reader = response.body!.getReader();
      await reader.read(); // the stream has begun
      if (!(await runners()).some((runner) => runner.in_use)) {
        leaving.abort();
        t.skip("the engine finished by itself before the client left");
        return;
      }
      leaving.abort();
      await eventually(async () => (await runners()).every((runner) => !runner.in_use && runner.requests_in_flight === 0), `${path}: the runner released`, 60_000);
    }
  });

  test("metrics count Anthropic requests under their own origin", async () => {
    await client().messages.create({ model: "tiny", max_tokens: 1, messages: question });
    const metrics = await (await fetch(`${served.gateway.url}/metrics`)).text();
    const line = metrics.split("\n").find((l) => l.startsWith("modelgate_engine_requests_total{") && l.includes('origin="anthropic/messages"') && l.includes('outcome="completed"'));
    assert.ok(line, metrics.split("\n").filter((l) => l.startsWith("modelgate_engine_requests_total")).join("\n"));
    assert.ok(Number(line.split(" ").at(-1)) >= 1);
    const tokens = metrics.split("\n").find((l) => l.startsWith("modelgate_engine_prompt_tokens_total{") && l.includes('origin="anthropic/messages"'));
    assert.ok(tokens && Number(tokens.split(" ").at(-1)) > 0, String(tokens));
  });
});

describe("@anthropic-ai/sdk with the gateway's API key", () => {
  const key = "mg-anthropic-key";
  const guarded = useGateway({ env: { MODELGATE_API_KEY: key } });
  const as = (options: { apiKey?: string; authToken?: string }) =>
    new Anthropic({ baseURL: guarded.gateway.url, apiKey: null, maxRetries: 0, ...options });

  test("a wrong key: a 401 authentication_error in Anthropic's shape; the right one as x-api-key or bearer token: through", async () => {
    const failure = await as({ apiKey: "wrong" }).messages.countTokens({ model: "tiny", messages: question }).catch((error: unknown) => error);
    assert.ok(failure instanceof Anthropic.AuthenticationError, String(failure));
    assert.equal((failure.error as Anthropic.ErrorResponse).error.type, "authentication_error");
    // An unknown model answers without loading anything: the key was accepted.
    const unknown = await as({ authToken: key }).messages.countTokens({ model: "no-such-model", messages: question }).catch((error: unknown) => error);
    assert.ok(unknown instanceof Anthropic.NotFoundError, String(unknown));
    const viaApiKey = await as({ apiKey: key }).messages.countTokens({ model: "no-such-model", messages: question }).catch((error: unknown) => error);
    assert.ok(viaApiKey instanceof Anthropic.NotFoundError, String(viaApiKey));
  });
});
