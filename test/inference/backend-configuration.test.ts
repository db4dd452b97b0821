import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidConfigurationError, parseBackendConfiguration } from "../../src/inference/index.ts";

describe("parseBackendConfiguration", () => {
  it("accepts the seed's JSON keys", () => {
    const input = {
      "context-size": 4096,
      "runtime-flags": ["--threads", "2"],
      speculative: { draft_model: "ai/tiny-draft", num_tokens: 8, min_acceptance_rate: 0.5 },
      vllm: { "hf-overrides": { max_model_len: 1024 }, "gpu-memory-utilization": 0.8 },
      llamacpp: { "reasoning-budget": 0 },
    };
    assert.deepEqual(parseBackendConfiguration(input), input);
    assert.deepEqual(parseBackendConfiguration({}), {});
  });

  const rejected: Record<string, [unknown, RegExp]> = {
    "a non-object": ["x", /invalid configuration/],
    "a fractional context size": [{ "context-size": 1.5 }, /context-size/],
    "a context size beyond int32": [{ "context-size": 2 ** 31 }, /context-size/],
    "a non-positive context size": [{ "context-size": 0 }, /context-size/],
    "an unknown key": [{ "ctx-size": 1 }, /invalid configuration/],
    "runtime flags that are not strings": [{ "runtime-flags": [1] }, /runtime-flags/],
    "a runtime flag with a path": [{ "runtime-flags": ["--log-file", "/etc/passwd"] }, /paths are not allowed/],
    "a gpu memory utilisation above 1": [{ vllm: { "gpu-memory-utilization": 1.5 } }, /gpu-memory-utilization/],
    "a negative gpu memory utilisation": [{ vllm: { "gpu-memory-utilization": -0.1 } }, /gpu-memory-utilization/],
    "hf overrides with a bad key": [{ vllm: { "hf-overrides": { "a-b": 1 } } }, /invalid key/],
    "hf overrides that are an array": [{ vllm: { "hf-overrides": [1] } }, /hf-overrides/],
    "a reasoning budget below -1": [{ llamacpp: { "reasoning-budget": -2 } }, /reasoning-budget/],
    "speculative without a draft model": [{ speculative: { num_tokens: 4 } }, /draft_model/],
    "a min acceptance rate above 1": [{ speculative: { draft_model: "x", min_acceptance_rate: 2 } }, /min_acceptance_rate/],
  };
  for (const [name, [input, message]] of Object.entries(rejected)) {
    it(`rejects ${name}`, () => {
      assert.throws(() => parseBackendConfiguration(input), (error: unknown) =>
        error instanceof InvalidConfigurationError && message.test(error.message));
    });
  }
});
