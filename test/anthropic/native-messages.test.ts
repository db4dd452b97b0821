/**
 * The normaliser of the engine's native Messages output, on streams recorded
 * from the real llama-server (fixtures/streams/anthropic-*.sse) and on
 * hand-written ones for what the fixtures cannot show (errors, cut streams).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { createMessageStreamNormalizer, normalizeMessage } from "../../src/anthropic/native-messages.ts";
import { readWrittenEvents, type WrittenEvent } from "../support/streams.ts";

const recorded = (name: string) => readFileSync(new URL(`../../fixtures/streams/${name}`, import.meta.url), "utf8");

function normalize(sse: string, pieceSize = sse.length): WrittenEvent[] {
  const normalizer = createMessageStreamNormalizer("tiny");
  const events: string[] = [];
  for (let at = 0; at < sse.length; at += pieceSize) events.push(...normalizer.push(sse.slice(at, at + pieceSize)));
  return readWrittenEvents([...events, ...normalizer.end()]);
}

const data = (event: WrittenEvent | undefined) => event?.data as Record<string, any>;

describe("native Messages streams", () => {
  test("a recorded text stream: renamed, given Anthropic ids and a ping, otherwise as sent", () => {
    const events = normalize(recorded("anthropic-plain.sse"));
    assert.deepEqual(events.slice(0, 3).map((event) => event.event), ["message_start", "ping", "content_block_start"]);
    const message = data(events[0]).message;
    assert.equal(message.model, "tiny");
    assert.match(message.id, /^msg_[A-Za-z0-9]+$/);
    assert.equal(events.at(-1)?.event, "message_stop");
    assert.equal(events.filter((event) => event.event === "error").length, 0);
    const text = events.filter((event) => event.event === "content_block_delta").map((event) => data(event).delta.text).join("");
    const sent = [...recorded("anthropic-plain.sse").matchAll(/"text":"((?:[^"\\]|\\.)*)"/g)].map((m) => JSON.parse(`"${m[1]}"`) as string).join("");
    assert.equal(text, sent);
    for (const event of events) assert.equal(data(event).type, event.event);
  });

  test("a recorded tool stream: the tool_use block starts with an id and an empty input", () => {
    const events = normalize(recorded("anthropic-tools.sse"));
    const start = events.find((event) => event.event === "content_block_start");
    assert.equal(data(start).content_block.type, "tool_use");
    assert.equal(data(start).content_block.name, "get_weather");
    assert.deepEqual(data(start).content_block.input, {});
    assert.match(data(start).content_block.id, /^toolu_/);
    const json = events.filter((event) => data(event).delta?.type === "input_json_delta").map((event) => data(event).delta.partial_json).join("");
    assert.deepEqual(JSON.parse(json), { city: "Paris" });
    assert.equal(data(events.find((event) => event.event === "message_delta")).delta.stop_reason, "tool_use");
  });

  test("cut into any piece size, the recorded streams normalise the same", () => {
    for (const name of ["anthropic-plain.sse", "anthropic-tools.sse"]) {
      const sse = recorded(name);
      const whole = JSON.stringify(normalize(sse));
      for (const size of [1, 7, 64]) assert.equal(JSON.stringify(normalize(sse, size)), whole, `${name} in pieces of ${size}`);
    }
  });

  test("the engine's errors, in each of its shapes, become one Anthropic error event that ends the stream", () => {
    const start = 'event: message_start\ndata: {"type":"message_start","message":{"id":"chatcmpl-x","content":[]}}\n\n';
    const shapes = [
      'event: error\ndata: {"code":500,"message":"context exhausted","type":"server_error"}\n\n',
      'data: {"error":{"message":"context exhausted","type":"server_error","code":500}}\n\n',
    ];
    for (const shape of shapes) {
      const events = normalize(`${start}${shape}event: message_stop\ndata: {"type":"message_stop"}\n\n`);
      assert.deepEqual(events.map((event) => event.event), ["message_start", "ping", "error"]);
      assert.deepEqual(events[2]?.data, { type: "error", error: { type: "api_error", message: "context exhausted" } });
    }
  });

  test("a token's content_block_delta goes on as the engine wrote it, byte for byte", () => {
    const delta = 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"caf\u00e9"}}\n\n';
    assert.deepEqual(createMessageStreamNormalizer("tiny").push(delta), [delta]);
  });

  test("a stream cut before message_stop ends with an error event, a whole one with none", () => {
    const cut = normalize('event: message_start\ndata: {"type":"message_start","message":{"id":"x","content":[]}}\n\n');
    assert.equal(cut.at(-1)?.event, "error");
    assert.match(data(cut.at(-1)).error.message, /ended before the message was complete/);
    const broken = readWrittenEvents(createMessageStreamNormalizer("tiny").end("socket hang up"));
    assert.match(data(broken[0]).error.message, /socket hang up/);
    const whole = normalize('event: message_stop\ndata: {"type":"message_stop"}\n\n');
    assert.deepEqual(whole.map((event) => event.event), ["message_stop"]);
  });

  test("a whole message: renamed, Anthropic ids, tool input kept", () => {
    const message = normalizeMessage(
      { id: "chatcmpl-abc", type: "message", model: "/models/tools.gguf", content: [{ type: "tool_use", id: "xyz", name: "f", input: { a: 1 } }] },
      "tiny-tools",
    );
    assert.deepEqual(message, {
      id: "msg_abc",
      type: "message",
      model: "tiny-tools",
      content: [{ type: "tool_use", id: "toolu_xyz", name: "f", input: { a: 1 } }],
    });
  });
});
