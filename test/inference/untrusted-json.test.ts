import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as v from "valibot";
import { jsonRecord, maxJsonDepth, parseUntrustedJson } from "../../src/inference/untrusted-json.ts";

describe("parseUntrustedJson", () => {
  it("reads ordinary JSON as JSON.parse does", () => {
    const text = '{"model":"tiny","messages":[{"role":"user","content":"a \\"[{\\" b \\\\"}],"n":1.5,"ok":true,"x":null}';
    assert.deepEqual(parseUntrustedJson(text), JSON.parse(text));
  });

  it("bounds nesting, counting brackets outside strings only", () => {
    const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);
    assert.deepEqual(parseUntrustedJson(nested(maxJsonDepth)), JSON.parse(nested(maxJsonDepth)));
    assert.throws(() => parseUntrustedJson(nested(maxJsonDepth + 1)), /nested deeper than 512/);
    assert.throws(() => parseUntrustedJson('{"a":'.repeat(100_000) + "1" + "}".repeat(100_000)), SyntaxError);
    const bracketsInStrings = JSON.stringify({ s: "[".repeat(10_000), t: '\\"{'.repeat(1000) });
    assert.deepEqual(parseUntrustedJson(bracketsInStrings), JSON.parse(bracketsInStrings));
  });

  it("refuses numbers JSON.parse would make infinite", () => {
    for (const number of ["1e400", "-1e400", "123e99999"]) {
      assert.throws(() => parseUntrustedJson(`{"options":{"temperature":${number}}}`), /out of range/, number);
    }
    assert.equal(parseUntrustedJson("1e308"), 1e308);
    // Out of range with an exponent of two digits: the digits before it make it so.
    assert.throws(() => parseUntrustedJson(`[1${"0".repeat(250)}e99]`), /out of range/);
    assert.throws(() => parseUntrustedJson(`[1${"0".repeat(309)}]`), /out of range/);
    assert.deepEqual(parseUntrustedJson(`[${"9".repeat(99)}e99, 1E+99, 2.5e-7]`), [Number(`${"9".repeat(99)}e99`), 1e99, 2.5e-7]);
  });

  it("refuses __proto__ keys at any depth", () => {
    assert.throws(() => parseUntrustedJson('{"__proto__":{"polluted":true}}'), /__proto__/);
    assert.throws(() => parseUntrustedJson('{"a":[{"__proto__":1}]}'), /__proto__/);
    assert.throws(() => parseUntrustedJson('{"\\u005f_proto__":{"polluted":true}}'), /__proto__/);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.deepEqual(parseUntrustedJson('{"text":"__proto__","proto":1}'), { text: "__proto__", proto: 1 });
  });

  it("replaces lone surrogates, keeps pairs", () => {
    assert.equal(parseUntrustedJson('"a\\ud800b\\udc00c"'), "a\uFFFDb\uFFFDc");
    assert.equal(parseUntrustedJson('"\\ud83d\\ude00"'), "\u{1F600}");
    assert.doesNotThrow(() => encodeURIComponent(parseUntrustedJson('"\\udfff"') as string));
    // Lone surrogates in the text itself, not escaped.
    assert.deepEqual(parseUntrustedJson('{"a":"x\ud800","b":"\udc00y","c":"\u{1F600}"}'), { a: "x\uFFFD", b: "\uFFFDy", c: "\u{1F600}" });
  });
});

describe("jsonRecord", () => {
  it("takes objects, refuses arrays and other values", () => {
    const schema = jsonRecord(v.number());
    assert.deepEqual(v.parse(schema, { a: 1 }), { a: 1 });
    for (const value of [[], [1], "x", 1, null]) assert.equal(v.safeParse(schema, value).success, false, JSON.stringify(value));
    assert.match(v.safeParse(schema, [1]).issues![0].message, /Expected Object but received Array/);
  });
});
