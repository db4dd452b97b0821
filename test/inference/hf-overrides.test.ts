import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidConfigurationError, validateHFOverrides } from "../../src/inference/index.ts";

describe("validateHFOverrides", () => {
  it("accepts primitives, arrays and nested objects with identifier keys", () => {
    assert.doesNotThrow(() =>
      validateHFOverrides({
        architectures: ["LlamaForCausalLM"],
        max_position_embeddings: 8192,
        tie_word_embeddings: false,
        rope_scaling: { type: "yarn", factor: 4.0, original_max_position_embeddings: 32768 },
        _private: null,
        nested: { deeper: { list: [1, "two", { k: true }] } },
      }),
    );
  });

  const rejected: Record<string, unknown> = {
    "a key with a dash": { "rope-scaling": 1 },
    "a key starting with a digit": { "1abc": 1 },
    "a key with a space": { "a b": 1 },
    "a key with quotes": { 'a"b': 1 },
    "an empty key": { "": 1 },
    "a nested bad key": { rope_scaling: { "bad;key": 1 } },
    "a bad key inside an array": { list: [{ "x-y": 1 }] },
    "a __proto__ key": JSON.parse('{"__proto__": {"polluted": true}}'),
    "a constructor key": { constructor: { prototype: {} } },
    "a function value": { f: () => 1 },
    "an undefined value": { u: undefined },
    "a non-finite number": { n: Number.POSITIVE_INFINITY },
    "a bigint": { b: 1n },
    "a Date instance": { d: new Date(0) },
    "an array at the top": [1, 2],
    "a string at the top": "x",
    "null at the top": null,
  };
  for (const [name, value] of Object.entries(rejected)) {
    it(`rejects ${name}`, () => {
      assert.throws(() => validateHFOverrides(value), InvalidConfigurationError);
    });
  }

  it("rejects absurd nesting without overflowing the stack", () => {
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 10_000; i++) deep = { a: deep };
    assert.throws(() => validateHFOverrides(deep), /nested too deeply/);
  });
});
