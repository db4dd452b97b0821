import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidConfigurationError, parseRunnerOptions, refuseLlamaCppSettings, withRunnerOptions } from "../../src/inference/index.ts";

describe("runner options over a standing configuration", () => {
  it("put the request's settings over the standing ones, which they do not change", () => {
    const standing = { "context-size": 4096, llamacpp: { "reasoning-budget": 0 }, speculative: { draft_model: "d", num_tokens: 4 } };
    const merged = withRunnerOptions(standing, { "context-size": 512, threads: 2, "draft-tokens": 2 });
    assert.deepEqual(merged, {
      "context-size": 512,
      llamacpp: { "reasoning-budget": 0, threads: 2 },
      speculative: { draft_model: "d", num_tokens: 2 },
    });
    assert.deepEqual(standing.speculative, { draft_model: "d", num_tokens: 4 });
  });

  it("leave the configuration as it is when there are none, and say context shift only when it is off (the default is on)", () => {
    const standing = { "context-size": 4096 };
    assert.equal(withRunnerOptions(standing, {}), standing);
    assert.deepEqual(withRunnerOptions(undefined, { "context-shift": true }), {});
    assert.deepEqual(withRunnerOptions(undefined, { "context-shift": false }), { llamacpp: { "context-shift": false } });
  });

  it("draft-tokens: tunes a configured draft, 0 turns drafting off, nothing without a draft model", () => {
    assert.deepEqual(withRunnerOptions({ speculative: { draft_model: "d" } }, { "draft-tokens": 0 }), {});
    assert.deepEqual(withRunnerOptions(undefined, { "draft-tokens": 3 }), {});
  });

  it("are checked at the trust boundary, naming the setting", () => {
    assert.throws(() => parseRunnerOptions({ "gpu-layers": -1 }), /invalid runner_options at gpu-layers/);
    assert.throws(() => parseRunnerOptions({ "context-size": 512, surprise: 1 }), InvalidConfigurationError);
  });

  it("are refused by name on an engine without llama.cpp's switches; not shifting is what such engines do anyway", () => {
    assert.throws(() => refuseLlamaCppSettings("vLLM", { llamacpp: { threads: 2, mmap: false } }), /vLLM cannot honour llamacpp.threads, llamacpp.mmap/);
    refuseLlamaCppSettings("vLLM", { llamacpp: { "context-shift": false } });
    refuseLlamaCppSettings("vLLM", { "context-size": 512 });
  });
});
