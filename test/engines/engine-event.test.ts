/**
 * A stream's engine event reader (`createEngineEventReader`) reads a token's
 * chunk without parsing it when it repeats the last one's shape: whatever it
 * takes that shortcut on, it must read exactly as a full parse
 * (`readEngineEvent`) does, in every field a translator reads. Fed the
 * recorded llama-server streams, and hand-written ones built to look alike
 * but differ (escapes, quotes, a text that would close its string early, a
 * field that changes elsewhere).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import type { EngineChunk } from "../../src/engines/engine-chunk.ts";
import { createEngineEventReader, readEngineEvent, type EngineEventRead } from "../../src/engines/engine-event.ts";
import { seededRandom } from "../support/seeded-random.ts";

const recorded = (name: string) => readFileSync(new URL(`../../fixtures/streams/${name}`, import.meta.url), "utf8");

function events(sse: string): EventSourceMessage[] {
  const all: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => all.push(event) });
  parser.feed(sse);
  return all;
}

/** What translators read of a chunk (the fields `EngineChunk` declares), nulls and absences alike left out. */
function declared(read: EngineEventRead): unknown {
  if (typeof read !== "object" || !("chunk" in read)) return read;
  const { choices, usage, timings, error, content, stop, stop_type, completion_probabilities } = read.chunk;
  const choice = ({ delta, text, finish_reason, stop_reason, logprobs }: NonNullable<EngineChunk["choices"]>[number]) =>
    present({ delta: delta && present({ ...pick(delta, "content", "reasoning_content", "reasoning", "tool_calls") }), text, finish_reason, stop_reason, logprobs });
  return present({ choices: choices?.map(choice), usage, timings, error, content, stop, stop_type, completion_probabilities });
}

function pick<T extends object, K extends keyof T>(value: T, ...keys: K[]): Partial<Pick<T, K>> {
  return Object.fromEntries(keys.map((key) => [key, value[key]])) as Partial<Pick<T, K>>;
}

function present(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value != null));
}

/** Each event read by one stream's reader, beside the same event parsed in full. */
function readBoth(sse: string): { fast: unknown[]; full: unknown[] } {
  const read = createEngineEventReader();
  const all = events(sse);
  return { fast: all.map((event) => declared(read(event))), full: all.map((event) => declared(readEngineEvent(event))) };
}

const tail = ',"created":1795610237,"id":"chatcmpl-1","model":"m","object":"chat.completion.chunk"}';
const token = (delta: string, rest = tail) => `data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":${delta}}}]${rest}\n\n`;

describe("a stream's engine event reader", () => {
  for (const name of ["chat-plain.sse", "chat-tools.sse", "chat-json-schema.sse", "completion-raw.sse"]) {
    test(`the recorded ${name}: every event read as a full parse reads it`, () => {
      const { fast, full } = readBoth(recorded(name));
      assert.deepEqual(fast, full);
    });
  }

  test("tokens with escapes, quotes, non-ASCII and control characters read as JSON reads them", () => {
    const texts = ["Hello", ' "quoted"', "back\\slash", "line\nbreak", "tab\there", "ünï ✓ 😀", "\u0001", "", "}}]", '","x":"y'];
    const sse = texts.map((text) => token(JSON.stringify(text))).join("");
    const { fast, full } = readBoth(sse);
    assert.deepEqual(fast, full);
    assert.deepEqual(
      fast.map((read) => (read as { choices: { delta: { content: string } }[] }).choices[0]?.delta.content ?? ""),
      texts,
    );
    // Every token after the first was read by its text alone: the chunk's other fields (its id) were never parsed.
    const read = createEngineEventReader();
    const ids = events(sse).map((event) => (read(event) as { chunk: { id?: string } }).chunk.id);
    assert.deepEqual(ids, ["chatcmpl-1", ...texts.slice(1).map(() => undefined)]);
  });

  test("a chunk that looks alike but is not one string there is parsed in full: the text closes early, a field changes, the second ticks", () => {
    const sse = [
      token('"a"'),
      // Text ending in a backslash would escape the closing quote: not a string where the text was.
      token('"b\\"'),
      // Two fields where one string was.
      token('"c","reasoning_content":"d"'),
      token('"e"'),
      token('"f"', tail.replace("1795610237", "1795610238")),
      token('"g"', tail.replace("1795610237", "1795610238")),
      `data: {"choices":[{"finish_reason":"stop","index":0,"delta":{"content":"h"}}]${tail}\n\n`,
      `data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"i"},"logprobs":{"content":[{"token":"i","logprob":-1}]}}]${tail}\n\n`,
      token('"j"'),
      "data: [DONE]\n\n",
    ].join("");
    const { fast, full } = readBoth(sse);
    assert.deepEqual(fast, full);
    assert.ok((fast[1] as { failure: string }).failure.startsWith("the engine sent an unreadable event"));
  });

  test("reasoning tokens, written by field name as vLLM and llama-server write them, with spaces after the colon", () => {
    const sse = ["Let", " me", " think"]
      .flatMap((text) => [
        `data: {"id": "chatcmpl-2", "choices": [{"index": 0, "delta": {"reasoning_content": ${JSON.stringify(text)}}, "finish_reason": null}]}\n\n`,
        `data: {"id":"chatcmpl-2","choices":[{"index":0,"delta":{"reasoning":${JSON.stringify(text)}},"logprobs":null,"finish_reason":null}]}\n\n`,
      ])
      .join("");
    const { fast, full } = readBoth(sse);
    assert.deepEqual(fast, full);
  });

  test("an error event and an error field after tokens are failures, in the engine's words", () => {
    const sse = [token('"a"'), token('"b"'), 'event: error\ndata: {"message":"the slot died"}\n\n', `data: {"error":{"message":"out of memory"}}\n\n`].join("");
    const { fast, full } = readBoth(sse);
    assert.deepEqual(fast, full);
    assert.deepEqual(fast.slice(2), [{ failure: "the slot died" }, { failure: "out of memory" }]);
  });
});

/** Text pieces a token may hold, escapes and JSON's own punctuation among them. */
const pieces = ["a", " the", '"', "\\", "\n", "\r\n", "\t", "\u0000", "\u001f", '","', '"content":"', "\\u0041", "}", "]}", "😀", "\ud83d", "\ude00", "é", "\u2028", "data: ", "[DONE]", " "];
/** Raw text put where a token's string goes, JSON or not: what an engine gone wrong might write. */
const rawInsides = ['"', '\\', '\\"', '\\\\', '","content":"x', '\\u00', '\\ud83d', '\\ud83d\\ude00', '","reasoning_content":"', "\n", "\\n"];

describe("the engine event reader against a full parse, fuzzed", () => {
  test("every event of random streams (text with escapes, fields that change, reasoning, tool calls, logprobs, usage, raw text that is not JSON) reads as a full parse reads it", () => {
    let shortcuts = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const next = seededRandom(seed);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
      const text = () => Array.from({ length: 1 + Math.floor(next() * 4) }, () => pick(pieces)).join("");
      const spaced = next() < 0.3;
      const sep = spaced ? ": " : ":";
      let created = 1795610237;
      let id = "chatcmpl-1";
      const lines: string[] = [];
      for (let index = 0; index < 30; index++) {
        const roll = next();
        if (roll < 0.05) created += 1;
        else if (roll < 0.07) id = `chatcmpl-${index}`;
        const field = next() < 0.8 ? "content" : pick(["reasoning_content", "reasoning"]);
        const kind = next();
        const value =
          kind < 0.75 ? JSON.stringify(text()) : kind < 0.85 ? `"${pick(rawInsides)}"` : kind < 0.9 ? "null" : JSON.stringify("");
        const extra =
          kind >= 0.9
            ? pick([
                `,"tool_calls"${sep}[{"index":0,"function":{"arguments":${JSON.stringify(text())}}}]`,
                `,"content"${sep}${JSON.stringify(text())}`,
                `,"role"${sep}"assistant"`,
              ])
            : "";
        const choiceTail = pick([
          `,"finish_reason"${sep}null`,
          `,"finish_reason"${sep}null`,
          `,"finish_reason"${sep}"stop"`,
          `,"logprobs"${sep}{"content":[{"token":"t","logprob":-0.5}]}`,
        ]);
        const chunkTail = pick([
          `,"created"${sep}${created},"id"${sep}"${id}","model"${sep}"m","system_fingerprint"${sep}"b1","object"${sep}"chat.completion.chunk"`,
          `,"created"${sep}${created},"id"${sep}"${id}","model"${sep}"m","system_fingerprint"${sep}"b1","object"${sep}"chat.completion.chunk"`,
          `,"usage"${sep}{"prompt_tokens":3,"completion_tokens":${index}}`,
          `,"timings"${sep}{"prompt_n":3,"prompt_ms":1,"predicted_n":${index},"predicted_ms":2}`,
        ]);
        const data = `{"choices"${sep}[{"index"${sep}0,"delta"${sep}{"${field}"${sep}${value}${extra}}${choiceTail}}]${chunkTail}}`;
        lines.push(next() < 0.05 ? `event: error\ndata: ${data}\n\n` : `data: ${data}\n\n`);
      }
      lines.push("data: [DONE]\n\n");
      const sse = lines.join("");
      const { fast, full } = readBoth(sse);
      assert.deepEqual(fast, full, `seed ${seed}`);
      const read = createEngineEventReader();
      shortcuts += events(sse).filter((event) => {
        const result = read(event);
        return typeof result === "object" && "chunk" in result && !("id" in result.chunk);
      }).length;
    }
    assert.ok(shortcuts > 1000, `the shortcut was taken (${shortcuts} times)`);
  });

  test("a stream split anywhere, with CRLF line ends, 'data:' without its space and keep-alive comments, reads as a full parse reads it", () => {
    const texts = ["Hi", ' "a"', "\\", "b\r\n", "😀", '","', "x"];
    const sse = texts.map((text) => token(JSON.stringify(text))).join("").replaceAll("data: ", "data:").replaceAll("\n\n", "\r\n: keep-alive\r\n\r\n");
    const expected = readBoth(token(JSON.stringify(texts[0])) + texts.slice(1).map((text) => token(JSON.stringify(text))).join("")).full;
    const next = seededRandom(7);
    for (let trial = 0; trial < 50; trial++) {
      const read = createEngineEventReader();
      const fast: unknown[] = [];
      const parser = createParser({ onEvent: (event) => fast.push(declared(read(event))) });
      for (let at = 0; at < sse.length; ) {
        const size = 1 + Math.floor(next() * 40);
        parser.feed(sse.slice(at, at + size));
        at += size;
      }
      assert.deepEqual(fast, expected, `trial ${trial}`);
    }
  });

  test("a key written with an escape (\\u0065) is the same key to JSON: the text is read where the delta's own key is", () => {
    const chunk = (delta: string, other: string) =>
      `data: {"choices":[{"index":0,"delta":{"cont\\u0065nt":${JSON.stringify(delta)}}}],"x":{"content":${JSON.stringify(other)}}}\n\n`;
    const { fast, full } = readBoth(chunk("same", "same") + chunk("same", "other"));
    assert.deepEqual(fast, full);
  });
});
