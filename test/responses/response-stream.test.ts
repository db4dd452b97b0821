/**
 * The Responses stream translator on chat streams recorded from the real
 * llama-server (fixtures/streams/chat-*.sse) and on hand-written ones for what
 * the fixture models never do (reasoning, errors, cut streams). The finished
 * Response is assigned to the `openai` client's own `Response` type, so a
 * shape the client does not declare fails the type check; events are read
 * through the client's event types.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import type OpenAI from "openai";
import { startResponse } from "../../src/responses/response-object.ts";
import { createResponseStreamTranslator } from "../../src/responses/response-stream.ts";
import { readWrittenEvents } from "../support/streams.ts";

type Event = OpenAI.Responses.ResponseStreamEvent;

const recorded = (name: string) => readFileSync(new URL(`../../fixtures/streams/${name}`, import.meta.url), "utf8");

function translate(sse: string, options: { pieceSize?: number; failure?: string } = {}): { events: Event[]; response: OpenAI.Responses.Response } {
  let counter = 0;
  const translator = createResponseStreamTranslator({
    response: startResponse({ model: "tiny", input: "Hi" }, "resp_test", new Date(0)),
    newId: (prefix) => `${prefix}_${counter++}`,
  });
  const size = options.pieceSize ?? sse.length;
  const produced = [...translator.start()];
  for (let at = 0; at < sse.length; at += size) produced.push(...translator.push(sse.slice(at, at + size)));
  produced.push(...translator.end(options.failure));
  const written = readWrittenEvents(produced);
  for (const { event, data } of written) assert.equal(event, (data as Event).type, "each event is named after its type");
  const events = written.map(({ data }) => data as Event);
  const response: OpenAI.Responses.Response = { ...translator.result(), output_text: "" };
  return { events, response };
}

const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  `data: ${JSON.stringify({ choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
const usage = 'data: {"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10},"timings":{"cache_n":2,"prompt_n":5,"prompt_ms":1,"predicted_n":3,"predicted_ms":1}}\n\n';

describe("the Responses stream translator", () => {
  test("a recorded text stream: one message item, opened, streamed, closed, then response.incomplete at the token limit", () => {
    const { events, response } = translate(recorded("chat-plain.sse"));
    assert.deepEqual(events.map((event) => event.sequence_number), events.map((_, index) => index));
    const types = events.map((event) => event.type);
    assert.deepEqual(types.slice(0, 4), ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"]);
    assert.deepEqual(types.slice(-4), ["response.output_text.done", "response.content_part.done", "response.output_item.done", "response.incomplete"]);
    const text = events.flatMap((event) => (event.type === "response.output_text.delta" ? [event.delta] : [])).join("");
    const sent = [...recorded("chat-plain.sse").matchAll(/"content":"((?:[^"\\]|\\.)*)"/g)].map((m) => JSON.parse(`"${m[1]}"`) as string).join("");
    assert.equal(text, sent);
    assert.equal(response.status, "incomplete");
    assert.deepEqual(response.incomplete_details, { reason: "max_output_tokens" });
    const [message] = response.output;
    assert.ok(message?.type === "message");
    assert.deepEqual(message.content, [{ type: "output_text", text, annotations: [], logprobs: [] }]);
    assert.ok(response.usage && response.usage.input_tokens > 0 && response.usage.output_tokens === 12);
  });

  test("a recorded tool stream: a function_call item with its arguments as deltas, then response.completed", () => {
    const { events, response } = translate(recorded("chat-tools.sse"));
    const added = events.find((event) => event.type === "response.output_item.added");
    assert.ok(added?.type === "response.output_item.added" && added.item.type === "function_call");
    assert.equal(added.item.name, "get_weather");
    const deltas = events.flatMap((event) => (event.type === "response.function_call_arguments.delta" ? [event.delta] : [])).join("");
    const done = events.find((event) => event.type === "response.function_call_arguments.done");
    assert.ok(done?.type === "response.function_call_arguments.done");
    assert.equal(done.arguments, deltas);
    assert.equal(done.name, "get_weather");
    assert.deepEqual(JSON.parse(deltas), { city: "Paris" });
    assert.equal(events.at(-1)?.type, "response.completed");
    const [call] = response.output;
    assert.ok(call?.type === "function_call");
    assert.equal(call.call_id, "0eUYF011swQjpkpYuRbdqlkDX8JkwzQg");
    assert.equal(call.status, "completed");
  });

  test("cut into any piece size, the recorded streams translate the same", () => {
    for (const name of ["chat-plain.sse", "chat-tools.sse", "chat-json-schema.sse"]) {
      const whole = JSON.stringify(translate(recorded(name)).events);
      for (const pieceSize of [1, 5, 64]) assert.equal(JSON.stringify(translate(recorded(name), { pieceSize }).events), whole, `${name} / ${pieceSize}`);
    }
  });

  test("reasoning, then text, then two tool calls: four items in order, each closed before the next kind opens", () => {
    const sse = [
      chunk({ reasoning_content: "Let me " }),
      chunk({ reasoning_content: "think." }),
      chunk({ content: "Checking." }),
      chunk({ tool_calls: [{ index: 0, id: "call_a", function: { name: "f", arguments: '{"x":' } }] }),
      chunk({ tool_calls: [{ index: 1, id: "call_b", function: { name: "g", arguments: "{}" } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: "1}" } }] }),
      chunk({}, "tool_calls"),
      usage,
      "data: [DONE]\n\n",
    ].join("");
    const { events, response } = translate(sse);
    assert.deepEqual(response.output.map((item) => item.type), ["reasoning", "message", "function_call", "function_call"]);
    const [reasoning, , first, second] = response.output;
    assert.ok(reasoning?.type === "reasoning" && first?.type === "function_call" && second?.type === "function_call");
    assert.deepEqual(reasoning.content, [{ type: "reasoning_text", text: "Let me think." }]);
    assert.deepEqual([first.arguments, second.arguments], ['{"x":1}', "{}"]);
    const doneAt = (index: number) => events.findIndex((event) => event.type === "response.output_item.done" && event.output_index === index);
    const addedAt = (index: number) => events.findIndex((event) => event.type === "response.output_item.added" && event.output_index === index);
    assert.ok(doneAt(0) < addedAt(1) && doneAt(1) < addedAt(2));
    assert.deepEqual(response.usage, { input_tokens: 7, input_tokens_details: { cached_tokens: 2, cache_write_tokens: 0 }, output_tokens: 3, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 10 });
    assert.equal(response.status, "completed");
  });

  test("an engine error, a broken stream and a stream cut before finish_reason each end in response.failed", () => {
    const cases: Array<[string, { failure?: string }, RegExp]> = [
      [chunk({ content: "a" }) + 'data: {"error":{"message":"context exhausted","type":"server_error"}}\n\n', {}, /context exhausted/],
      [chunk({ content: "a" }), { failure: "socket hang up" }, /socket hang up/],
      [chunk({ content: "a" }) + "data: [DONE]\n\n", {}, /ended before the response was complete/],
    ];
    for (const [sse, options, message] of cases) {
      const { events, response } = translate(sse, options);
      const last = events.at(-1);
      assert.equal(last?.type, "response.failed");
      assert.equal(events.filter((event) => event.type === "response.failed").length, 1);
      assert.equal(response.status, "failed");
      assert.match(response.error?.message ?? "", message);
    }
  });
});
