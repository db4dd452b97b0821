import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ndjsonLine } from "../../src/ollama/ndjson-response.ts";
import { isoTime, replyFormatter, replyJson, zeroMetrics, type OllamaStreamLine } from "../../src/ollama/ollama-replies.ts";

/** Strings that JSON must escape or encode with care: quotes, controls, astral and lone surrogates, U+2028. */
const awkward = ["", "plain", ' "quoted" ', "back\\slash", "tab\tnew\nline\r", "\u0000\u001f\u007f", "\u2028\u2029", "é漢字🙂", "\ud800 lone", "lone \udfff", "</script>"];

function randomText(random: () => number): string {
  const pool = awkward.join("") + "abc xyz 0123";
  return Array.from({ length: Math.floor(random() * 24) }, () => pool[Math.floor(random() * pool.length)]).join("");
}

/** A small deterministic generator, so a failure can be replayed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe("replyJson", () => {
  it("writes every line the formatters make exactly as JSON.stringify does", () => {
    const random = seeded(20261125);
    let clock = Date.UTC(2026, 10, 25);
    const lines: OllamaStreamLine[] = [];
    for (const model of ["tiny:latest", 'we"ird\\model', "🙂:latest"]) {
      for (const shape of ["chat", "generate"] as const) {
        const formatter = replyFormatter(shape, model, () => (clock += Math.floor(random() * 3)));
        for (const content of awkward) lines.push(formatter.chunk({ content }));
        for (let i = 0; i < 200; i++) {
          const thinking = random() < 0.2 ? randomText(random) : undefined;
          lines.push(formatter.chunk({ content: randomText(random), ...(thinking ? { thinking } : {}) }));
        }
        lines.push(formatter.chunk({ content: "", toolCalls: [{ id: "call_1", function: { index: 0, name: "f", arguments: { a: 1 } } }] }));
        lines.push(formatter.done("stop", zeroMetrics), formatter.done("length", { ...zeroMetrics, eval_count: 3 }));
      }
    }
    lines.push({ error: 'the engine said "no"\n' });
    for (const line of lines) assert.equal(replyJson(line), JSON.stringify(line));
  });
});

describe("ndjsonLine", () => {
  it("is the UTF-8 of the JSON text and one newline", () => {
    for (const value of [{ a: "é漢字🙂" }, { lone: "\ud800" }, [], "s", 1]) {
      assert.equal(Buffer.from(ndjsonLine(value)).toString("utf8"), `${JSON.stringify(value)}\n`);
    }
    const line = replyFormatter("chat", "tiny:latest").chunk({ content: "🙂" });
    assert.equal(Buffer.from(ndjsonLine(line, replyJson)).toString("utf8"), `${JSON.stringify(line)}\n`);
  });
});

describe("isoTime", () => {
  it("writes what Date#toISOString writes, across seconds, milliseconds, fractions, before 1970 and past 9999", () => {
    const times = [0, 1, 9, 10, 99, 100, 999, 1000, 1001, 1_796_560_734_000, 1_796_560_734_007, 1_796_560_734_999, 1_796_560_735_000, 1_796_560_734_123.9, -1, -999, -1000, -1001, -86_400_001.5, 253_402_300_799_999, 253_402_300_800_000];
    const random = seeded(7);
    for (let i = 0; i < 2000; i++) times.push(Math.floor(random() * 4e12) - 1e12, 1_796_560_734_000 + Math.floor(random() * 5000));
    // In order and shuffled: the remembered second and millisecond must never leak into another time.
    for (const time of [...times, ...times.toReversed()]) assert.equal(isoTime(time), new Date(time).toISOString(), String(time));
  });
});
