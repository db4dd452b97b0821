/**
 * The `openai` client from npm, `responses.*`, against the gateway's
 * Responses API in front of the real llama-server and the tiny fixture models
 * (`tiny-tools` always calls `get_weather({"city": "Paris"})`). Tiny models
 * babble, so context is checked by the engine's own prompt token counts.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import OpenAI from "openai";
import { useGateway } from "../support/gateway.ts";

const served = useGateway();
const client = (path = "/v1") => new OpenAI({ baseURL: served.gateway.url + path, apiKey: "unused", maxRetries: 0 });

const weatherTool: OpenAI.Responses.FunctionTool = {
  type: "function",
  name: "get_weather",
  description: "The weather in a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  strict: true,
};

describe("openai responses.* against the gateway", () => {
  test("create: a whole response, kept for retrieve and input_items until deleted", async () => {
    const response = await client().responses.create({ model: "tiny", input: "Hello", instructions: "Be brief.", max_output_tokens: 8 });
    assert.match(response.id, /^resp_/);
    assert.equal(response.object, "response");
    assert.equal(response.model, "tiny");
    assert.ok(response.status === "completed" || response.status === "incomplete", String(response.status));
    const message = response.output.find((item) => item.type === "message");
    assert.ok(message && message.content[0]?.type === "output_text");
    assert.ok(response.output_text.length > 0);
    assert.ok(response.usage && response.usage.input_tokens > 0 && response.usage.output_tokens > 0 && response.usage.output_tokens <= 8);
    assert.equal(response.usage.total_tokens, response.usage.input_tokens + response.usage.output_tokens);

    const retrieved = await client().responses.retrieve(response.id);
    assert.equal(retrieved.output_text, response.output_text);
    const items = await client().responses.inputItems.list(response.id);
    assert.equal(items.data.length, 1);
    assert.deepEqual(items.data[0] && "content" in items.data[0] ? items.data[0].content : undefined, [{ type: "input_text", text: "Hello" }]);

    await client().responses.delete(response.id);
    const gone = await client().responses.retrieve(response.id).catch((error: unknown) => error);
    assert.ok(gone instanceof OpenAI.NotFoundError, String(gone));
  });

  test("stream: numbered events whose deltas add up to the final response (also under /engines)", async () => {
    const stream = client("/engines/v1").responses.stream({ model: "tiny", input: "Hi", max_output_tokens: 10 });
    const types: string[] = [];
    const numbers: number[] = [];
    let streamed = "";
    for await (const event of stream) {
      types.push(event.type);
      numbers.push(event.sequence_number);
      if (event.type === "response.output_text.delta") streamed += event.delta;
    }
    const final = await stream.finalResponse();
    assert.deepEqual(numbers, types.map((_, index) => index));
    assert.deepEqual(types.slice(0, 4), ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"]);
    for (const type of ["response.output_text.done", "response.content_part.done", "response.output_item.done"]) assert.ok(types.includes(type), type);
    assert.ok(["response.completed", "response.incomplete"].includes(types.at(-1) ?? ""), types.at(-1));
    assert.equal(final.output_text, streamed);
    assert.ok(streamed.length > 0);
    assert.ok(final.usage && final.usage.output_tokens > 0);

    // `stream: true` on create: the same events, raw.
    const raw = await client().responses.create({ model: "tiny", input: "Hi", max_output_tokens: 3, stream: true });
    const last: string[] = [];
    for await (const event of raw) last.push(event.type);
    assert.equal(last[0], "response.created");
  });

  test("previous_response_id: the second request carries the first's context; store: false keeps nothing", async () => {
    const first = await client().responses.create({ model: "tiny", input: "My name is Ada.", max_output_tokens: 4 });
    const second = await client().responses.create({ model: "tiny", input: "What is my name?", previous_response_id: first.id, max_output_tokens: 4 });
    const alone = await client().responses.create({ model: "tiny", input: "What is my name?", max_output_tokens: 4, store: false });
    assert.equal(second.previous_response_id, first.id);
    assert.ok(first.usage && second.usage && alone.usage);
    assert.ok(second.usage.input_tokens >= alone.usage.input_tokens + first.usage.output_tokens, `${second.usage.input_tokens} vs ${alone.usage.input_tokens} + ${first.usage.output_tokens}`);
    assert.ok(second.usage.input_tokens > first.usage.input_tokens + first.usage.output_tokens);

    const notKept = await client().responses.retrieve(alone.id).catch((error: unknown) => error);
    assert.ok(notKept instanceof OpenAI.NotFoundError);
    const unknown = await client().responses.create({ model: "tiny", input: "x", previous_response_id: "resp_nope" }).catch((error: unknown) => error);
    assert.ok(unknown instanceof OpenAI.NotFoundError, String(unknown));
    assert.equal(unknown.code, "previous_response_not_found");
    assert.equal(unknown.param, "previous_response_id");
  });

  test("text.format json_schema: the output parses and matches the schema", async () => {
    const schema = { type: "object", properties: { city: { type: "string", maxLength: 10 } }, required: ["city"], additionalProperties: false };
    const response = await client().responses.create({
      model: "tiny",
      input: "A city?",
      max_output_tokens: 64,
      text: { format: { type: "json_schema", name: "city", schema, strict: true } },
    });
    const value = JSON.parse(response.output_text) as { city: unknown };
    assert.equal(typeof value.city, "string");
    assert.ok((value.city as string).length <= 10);
  });

  test("function tools: a function_call item, streamed and whole, then its output continues the conversation", async () => {
    const call = await client().responses.create({ model: "tiny-tools", input: "What is the weather in Paris?", tools: [weatherTool], max_output_tokens: 64 });
    const item = call.output.find((entry): entry is OpenAI.Responses.ResponseFunctionToolCall => entry.type === "function_call");
    assert.ok(item, JSON.stringify(call.output));
    assert.equal(item.name, "get_weather");
    assert.deepEqual(JSON.parse(item.arguments), { city: "Paris" });
    assert.match(item.id ?? "", /^fc_/);

    const stream = client().responses.stream({ model: "tiny-tools", input: "What is the weather in Paris?", tools: [weatherTool], max_output_tokens: 64 });
    let argumentDeltas = "";
    stream.on("response.function_call_arguments.delta", (event) => (argumentDeltas += event.delta));
    const streamed = await stream.finalResponse();
    const streamedItem = streamed.output.find((entry) => entry.type === "function_call");
    assert.ok(streamedItem?.type === "function_call");
    assert.equal(streamedItem.arguments, argumentDeltas);
    assert.deepEqual(JSON.parse(argumentDeltas), { city: "Paris" });

    const answer = await client().responses.create({
      model: "tiny-tools",
      previous_response_id: call.id,
      input: [{ type: "function_call_output", call_id: item.call_id, output: "Sunny, 21 °C" }],
      tools: [weatherTool],
      max_output_tokens: 4,
    });
    assert.ok(answer.usage && call.usage && answer.usage.input_tokens > call.usage.input_tokens + call.usage.output_tokens);
  });

  test("bad input is a 400 in OpenAI's shape; an unknown model a 404", async () => {
    const bad = await client()
      .responses.create({ model: "tiny", input: "x", tools: [{ type: "web_search" }] } as unknown as OpenAI.Responses.ResponseCreateParamsNonStreaming)
      .catch((error: unknown) => error);
    assert.ok(bad instanceof OpenAI.BadRequestError, String(bad));
    assert.match(bad.message, /function tools/);
    const unknown = await client().responses.create({ model: "no-such-model", input: "x" }).catch((error: unknown) => error);
    assert.ok(unknown instanceof OpenAI.NotFoundError, String(unknown));
  });

  test("metrics count Responses requests under their own origin", async () => {
    const metrics = await (await fetch(`${served.gateway.url}/metrics`)).text();
    const line = metrics.split("\n").find((l) => l.startsWith("modelgate_engine_requests_total{") && l.includes('origin="openai/responses"') && l.includes('outcome="completed"'));
    assert.ok(line && Number(line.split(" ").at(-1)) >= 1, metrics.split("\n").filter((l) => l.startsWith("modelgate_engine_requests_total")).join("\n"));
    assert.ok(!line.includes("ollama/completion"));
  });
});
