/**
 * The translator on event streams recorded from the real llama-server with the
 * fixture models (see fixtures/streams/README.md for how each was made).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import type { ChatReply, GenerateReply, OllamaStreamLine } from "../../src/ollama/ollama-replies.ts";
import { translate } from "./support/translate.ts";

const recorded = (name: string) => readFileSync(new URL(`../../fixtures/streams/${name}`, import.meta.url), "utf8");

function finalOf(lines: OllamaStreamLine[]) {
  const last = lines.at(-1)!;
  assert.ok("done" in last && last.done, `the last line is the done object: ${JSON.stringify(last)}`);
  assert.equal(lines.filter((line) => "done" in line && line.done).length, 1);
  assert.ok(lines.every((line) => !("error" in line)));
  for (const line of lines.slice(0, -1)) assert.equal("eval_count" in line, false, "counts only on the final object");
  return last;
}

const chatText = (lines: OllamaStreamLine[]) => (lines as ChatReply[]).map((line) => line.message.content).join("");

describe("recorded llama-server streams", () => {
  test("plain chat: every token, usage counts and timings, done_reason length", () => {
    const sse = recorded("chat-plain.sse");
    const lines = translate(sse);
    const final = finalOf(lines);
    assert.equal(lines.length, 13, "12 tokens and the done object");
    const deltas = [...sse.matchAll(/"content":"((?:[^"\\]|\\.)*)"/g)].map((m) => JSON.parse(`"${m[1]}"`) as string);
    assert.equal(chatText(lines), deltas.join(""));
    assert.equal(final.done_reason, "length");
    assert.equal(final.eval_count, 12);
    assert.equal(final.prompt_eval_count, 20);
    assert.equal(final.prompt_eval_duration, 3_654_000);
    assert.equal(final.eval_duration, 82_885_000);
  });

  test("cut into any piece size, the recorded streams translate the same", () => {
    for (const name of ["chat-plain.sse", "chat-tools.sse", "chat-json-schema.sse"]) {
      const sse = recorded(name);
      const whole = translate(sse);
      for (const pieceLength of [1, 2, 3, 7, 64, 333, 4096]) {
        assert.deepEqual(translate(sse, { pieceLength }), whole, `${name} cut every ${pieceLength}`);
      }
    }
  });

  test("tool calls: the get_weather call goes out whole, arguments as an object, done_reason stop", () => {
    const lines = translate(recorded("chat-tools.sse")) as ChatReply[];
    finalOf(lines);
    const withCalls = lines.filter((line) => line.message.tool_calls);
    assert.equal(withCalls.length, 1);
    assert.deepEqual(withCalls[0]!.message.tool_calls, [
      { id: "0eUYF011swQjpkpYuRbdqlkDX8JkwzQg", function: { index: 0, name: "get_weather", arguments: { city: "Paris" } } },
    ]);
    const final = lines.at(-1)!;
    assert.ok(final.done);
    assert.equal(final.done_reason, "stop");
    assert.equal(final.eval_count, 16);
  });

  test("json_schema output parses and matches the schema", () => {
    const lines = translate(recorded("chat-json-schema.sse"));
    finalOf(lines);
    const value = JSON.parse(chatText(lines.slice(0, -1))) as { city: unknown };
    assert.equal(typeof value.city, "string");
  });

  test("a raw completion (/v1/completions) in the generate shape", () => {
    const lines = translate(recorded("completion-raw.sse"), { shape: "generate" }) as GenerateReply[];
    const final = finalOf(lines);
    assert.equal(lines.length, 9);
    assert.ok(lines.slice(0, -1).every((line) => line.response.length > 0));
    assert.equal(final.done_reason, "length");
    assert.equal(final.eval_count, 8);
    assert.equal(final.prompt_eval_count, 4);
  });

  test("a stream cut off mid-way ends with an error line", () => {
    const sse = recorded("chat-plain.sse");
    const lines = translate(sse.slice(0, Math.floor(sse.length / 2)), { failure: "other side closed" });
    assert.deepEqual(lines.at(-1), { error: "the engine's stream broke: other side closed" });
    assert.ok(lines.every((line) => !("done" in line && line.done)));
  });
});
