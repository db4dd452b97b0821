/**
 * Anthropic Messages over chat completions, for runners without a native
 * `/v1/messages` (vLLM before 0.11.1, vLLM PR #22627): the request
 * translation, and the stream translator on chat streams recorded from the
 * real llama-server (fixtures/streams/chat-*.sse: the same OpenAI chunk
 * protocol vLLM speaks) and on hand-written vLLM-shaped ones for what the
 * fixture models never do (a matched stop string in `stop_reason`,
 * reasoning, errors, cut streams).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { HTTPException } from "hono/http-exception";
import * as v from "valibot";
import { chatPrompt, chatRequestBody } from "../../src/anthropic/chat-request.ts";
import { createChatStreamTranslator, type Message } from "../../src/anthropic/chat-stream.ts";
import { MessagesRequestSchema } from "../../src/anthropic/messages-request.ts";
import { readWrittenEvents, type WrittenEvent } from "../support/streams.ts";

const recorded = (name: string) => readFileSync(new URL(`../../fixtures/streams/${name}`, import.meta.url), "utf8");

const request = (body: Record<string, unknown>) => v.parse(MessagesRequestSchema, { model: "st", max_tokens: 16, ...body });

function translate(sse: string, options: { pieceSize?: number; failure?: string; stopSequences?: string[] } = {}): { events: WrittenEvent[]; message: Message; failure?: string } {
  let counter = 0;
  const translator = createChatStreamTranslator({ model: "st", stopSequences: options.stopSequences ?? [], newId: (prefix) => `${prefix}${counter++}` });
  const size = options.pieceSize ?? sse.length;
  const pieces: string[] = [];
  for (let at = 0; at < sse.length; at += size) pieces.push(...translator.push(sse.slice(at, at + size)));
  pieces.push(...translator.end(options.failure));
  const failure = translator.failure();
  return { events: readWrittenEvents(pieces), message: translator.message(), ...(failure === undefined ? {} : { failure }) };
}

const types = (events: WrittenEvent[]) => events.map((event) => event.event);
const data = (event: WrittenEvent | undefined) => event?.data as Record<string, any>;
const chunk = (choice: Record<string, unknown>) => `data: ${JSON.stringify({ id: "chatcmpl-1", object: "chat.completion.chunk", choices: [{ index: 0, logprobs: null, ...choice }] })}\n\n`;
const usage = 'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":9,"total_tokens":12,"completion_tokens":3}}\n\n';
const done = "data: [DONE]\n\n";

describe("an Anthropic request as a chat completion", () => {
  test("system, text and images, tool_use and tool_result, sampling and stop strings", () => {
    const body = chatRequestBody(
      request({
        system: [{ type: "text", text: "Be brief." }, { type: "text", text: "Be kind." }],
        messages: [
          { role: "user", content: [{ type: "text", text: "Weather?" }, { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBO" } }] },
          { role: "assistant", content: [{ type: "thinking", thinking: "hmm", signature: "s" }, { type: "text", text: "Checking." }, { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } }] },
          { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: [{ type: "text", text: "sunny" }] }, { type: "text", text: "And?" }] },
        ],
        temperature: 0.5,
        top_p: 0.9,
        top_k: 40,
        stop_sequences: ["END"],
        stream: false,
      }),
    );
    assert.deepEqual(body, {
      model: "st",
      messages: [
        { role: "system", content: "Be brief.\nBe kind." },
        { role: "user", content: [{ type: "text", text: "Weather?" }, { type: "image_url", image_url: { url: "data:image/png;base64,iVBO" } }] },
        { role: "assistant", content: "Checking.", tool_calls: [{ id: "toolu_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] },
        { role: "tool", tool_call_id: "toolu_1", content: "sunny" },
        { role: "user", content: "And?" },
      ],
      max_tokens: 16,
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0.5,
      top_p: 0.9,
      top_k: 40,
      stop: ["END"],
    });
  });

  test("tools and each tool_choice, disable_parallel_tool_use, the thinking switch", () => {
    const tools = [{ name: "get_weather", description: "The weather", input_schema: { type: "object", properties: { city: { type: "string" } } } }];
    const messages = [{ role: "user", content: "Hi" }];
    const prompt = (extra: Record<string, unknown>) => chatPrompt(request({ messages, tools, ...extra }));
    assert.deepEqual(prompt({}).tools, [{ type: "function", function: { name: "get_weather", description: "The weather", parameters: tools[0]!.input_schema } }]);
    assert.equal(prompt({ tool_choice: { type: "auto" } }).tool_choice, "auto");
    assert.equal(prompt({ tool_choice: { type: "any" } }).tool_choice, "required");
    assert.equal(prompt({ tool_choice: { type: "none" } }).tool_choice, "none");
    assert.deepEqual(prompt({ tool_choice: { type: "tool", name: "get_weather", disable_parallel_tool_use: true } }), {
      ...prompt({}),
      tool_choice: { type: "function", function: { name: "get_weather" } },
      parallel_tool_calls: false,
    });
    assert.deepEqual(chatPrompt(request({ messages, thinking: { type: "enabled", budget_tokens: 1024 } })).chat_template_kwargs, { enable_thinking: true });
    assert.deepEqual(chatPrompt(request({ messages, thinking: { type: "disabled" } })).chat_template_kwargs, { enable_thinking: false });
  });

  test("refused with a 400 in Anthropic's sense: what a chat completion cannot carry", () => {
    const refused = (body: Record<string, unknown>, message: RegExp) =>
      assert.throws(() => chatRequestBody(request(body)), (error: unknown) => error instanceof HTTPException && error.status === 400 && message.test(error.message));
    const image = { type: "image", source: { type: "url", url: "https://example.com/a.png" } };
    refused({ messages: [{ role: "user", content: [{ type: "tool_result", tool_use_id: "t", content: [image] }] }] }, /^messages\.0\.content: images inside a tool_result/);
    refused({ messages: [{ role: "user", content: [{ type: "tool_use", id: "t", name: "f", input: {} }] }] }, /^messages\.0\.content: tool_use blocks belong to assistant messages/);
    refused({ messages: [{ role: "user", content: "a" }, { role: "assistant", content: [image] }] }, /^messages\.1\.content: image blocks belong to user messages/);
    refused({ messages: [{ role: "user", content: "a" }], tool_choice: { type: "any" } }, /^tool_choice may only be specified while providing tools$/);
  });
});

describe("a chat completion stream as Anthropic's events", () => {
  test("recorded text stream: message_start, ping, one text block, message_delta with max_tokens and usage, message_stop", () => {
    const sse = recorded("chat-plain.sse");
    const { events, message } = translate(sse);
    const deltas = [...sse.matchAll(/"content":"((?:[^"\\]|\\.)*)"/g)].map((m) => JSON.parse(`"${m[1]}"`) as string).filter(Boolean);
    assert.deepEqual(types(events), ["message_start", "ping", "content_block_start", ...deltas.map(() => "content_block_delta"), "content_block_stop", "message_delta", "message_stop"]);
    const start = data(events[0]).message;
    assert.deepEqual({ ...start, usage: undefined }, { id: "msg_0", type: "message", role: "assistant", model: "st", content: [], stop_reason: null, stop_sequence: null, usage: undefined });
    assert.deepEqual(data(events[2]), { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } });
    assert.deepEqual(data(events[3]), { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: deltas[0] } });
    assert.deepEqual(data(events.at(-2)), { type: "message_delta", delta: { stop_reason: "max_tokens", stop_sequence: null }, usage: { input_tokens: 20, output_tokens: 12 } });
    assert.deepEqual(message.content, [{ type: "text", text: deltas.join("") }]);
    assert.equal(message.stop_reason, "max_tokens");
    assert.deepEqual(message.usage, { input_tokens: 20, output_tokens: 12 });
  });

  test("recorded tool call stream: a tool_use block with a toolu_ id, its arguments as input_json_delta, stop_reason tool_use", () => {
    const { events, message } = translate(recorded("chat-tools.sse"));
    const starts = events.filter((event) => event.event === "content_block_start").map((event) => data(event).content_block);
    assert.equal(starts.length, 1);
    assert.match(starts[0].id, /^toolu_/);
    assert.deepEqual({ ...starts[0], id: undefined }, { type: "tool_use", id: undefined, name: "get_weather", input: {} });
    const json = events.filter((event) => data(event).delta?.type === "input_json_delta").map((event) => data(event).delta.partial_json as string);
    assert.ok(json.length > 1, "streamed in pieces");
    assert.deepEqual(message.content, [{ type: "tool_use", id: starts[0].id, name: "get_weather", input: JSON.parse(json.join("")) }]);
    assert.equal(message.stop_reason, "tool_use");
    assert.equal(data(events.at(-2)).delta.stop_reason, "tool_use");
  });

  test("cut into any piece size, the recorded streams translate the same", () => {
    for (const name of ["chat-plain.sse", "chat-tools.sse"]) {
      const whole = translate(recorded(name));
      for (const pieceSize of [1, 7, 64]) assert.deepEqual(translate(recorded(name), { pieceSize }), whole, `${name} in pieces of ${pieceSize}`);
    }
  });

  test("vLLM's stop_reason names the stop string met: stop_sequence, when the request asked for it", () => {
    const sse = chunk({ delta: { role: "assistant", content: "" }, finish_reason: null }) + chunk({ delta: { content: " w1" }, finish_reason: null }) + chunk({ delta: { content: "" }, finish_reason: "stop", stop_reason: "END" }) + usage + done;
    const asked = translate(sse, { stopSequences: ["END"] });
    assert.deepEqual(data(asked.events.at(-2)).delta, { stop_reason: "stop_sequence", stop_sequence: "END" });
    assert.deepEqual({ reason: asked.message.stop_reason, sequence: asked.message.stop_sequence }, { reason: "stop_sequence", sequence: "END" });
    // An EOS token id (vLLM's integer stop_reason), or a string not asked for: the turn simply ended.
    const eos = translate(sse.replace('"stop_reason":"END"', '"stop_reason":151645'), { stopSequences: ["END"] });
    assert.deepEqual(data(eos.events.at(-2)).delta, { stop_reason: "end_turn", stop_sequence: null });
    assert.equal(translate(sse).message.stop_reason, "end_turn");
  });

  test("reasoning becomes a thinking block before the text block; each block is stopped before the next starts", () => {
    const sse = chunk({ delta: { reasoning_content: "Let me " }, finish_reason: null }) + chunk({ delta: { reasoning: "think." }, finish_reason: null }) + chunk({ delta: { content: "Hi" }, finish_reason: null }) + chunk({ delta: {}, finish_reason: "stop" }) + usage + done;
    const { events, message } = translate(sse);
    assert.deepEqual(types(events).slice(2), ["content_block_start", "content_block_delta", "content_block_delta", "content_block_stop", "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop"]);
    assert.deepEqual(data(events[2]).content_block, { type: "thinking", thinking: "", signature: "" });
    assert.deepEqual(data(events[3]).delta, { type: "thinking_delta", thinking: "Let me " });
    assert.deepEqual(message.content, [{ type: "thinking", thinking: "Let me think.", signature: "" }, { type: "text", text: "Hi" }]);
  });

  test("an engine error mid-stream, a broken stream, a stream that ends before finishing: one api_error event, last", () => {
    const text = chunk({ delta: { content: "Hi" }, finish_reason: null });
    const cases: [string, string | undefined, RegExp][] = [
      [text + 'data: {"error":{"message":"CUDA error: out of memory","type":"InternalServerError","code":500}}\n\n' + text, undefined, /^CUDA error: out of memory$/],
      [text, "socket hang up", /^the engine's stream broke: socket hang up$/],
      [text + done, undefined, /^the engine's stream ended before the message was complete$/],
    ];
    for (const [sse, failure, message] of cases) {
      const translated = translate(sse, failure === undefined ? {} : { failure });
      const last = translated.events.at(-1)!;
      assert.equal(last.event, "error");
      assert.equal(data(last).error.type, "api_error");
      assert.match(data(last).error.message, message);
      assert.equal(translated.events.filter((event) => event.event === "error").length, 1);
      assert.match(translated.failure ?? "", message);
    }
  });
});
