/**
 * Unit test: a whole (non-streamed) engine reply read through the stream
 * translator gives what the stream would have, and keeps the text of a tool
 * call cut off by the token limit (Ollama answers it as content). The
 * end-to-end case is in ollama-fields.e2e.test.ts.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { wholeReplyText } from "../../src/ollama/whole-reply.ts";
import { chatChunk, sse, timings, translate, usageChunk } from "./support/translate.ts";

const usage = { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 };
const whole = (message: object, finish_reason: string, extra: object = {}) =>
  JSON.stringify({ choices: [{ index: 0, message: { role: "assistant", ...message }, finish_reason }], object: "chat.completion", usage, timings, ...extra });

describe("a whole reply as events", () => {
  test("content and thinking, finish and counts: the same objects as the streamed reply", () => {
    const streamed = sse(chatChunk({ content: "Hello", reasoning_content: "hm" }), chatChunk({}, "stop"), usageChunk(7, 2, { timings }), "[DONE]");
    assert.deepEqual(translate(wholeReplyText(whole({ content: "Hello", reasoning_content: "hm" }, "stop"))), translate(streamed));
  });

  test("tool calls come out whole with their arguments as an object", () => {
    const calls = [{ id: "x", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }];
    const lines = translate(wholeReplyText(whole({ content: "", tool_calls: calls }, "tool_calls")));
    assert.deepEqual((lines[0] as { message: { tool_calls: unknown } }).message.tool_calls, [
      { id: "x", function: { index: 0, name: "get_weather", arguments: { city: "Paris" } } },
    ]);
    assert.equal((lines.at(-1) as { done_reason: string }).done_reason, "stop");
  });

  test("a tool call cut off by the token limit: the raw text the engine produced, done_reason length", () => {
    const lines = translate(wholeReplyText(whole({ content: '<tool_call>\n{"name": "get' }, "length")));
    assert.equal((lines[0] as { message: { content: string } }).message.content, '<tool_call>\n{"name": "get');
    assert.equal((lines.at(-1) as { done_reason: string }).done_reason, "length");
  });

  test("a body that is no reply is refused by the translator, not read as an empty answer", () => {
    const lines = translate(wholeReplyText("<html>bad gateway</html>"));
    assert.equal(lines.length, 1);
    assert.match((lines[0] as { error: string }).error, /unreadable event/);
  });
});
