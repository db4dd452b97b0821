import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { vllmServeArguments, type VllmServeArgumentsInput } from "../../../src/backends/vllm/arguments.ts";
import { InvalidConfigurationError } from "../../../src/inference/index.ts";

const base: VllmServeArgumentsInput = {
  modelDir: "/models/bundles/abc",
  socket: "/run/mg/inference-runner-1.sock",
  servedNames: ["st:latest", "sha256:abc"],
  mode: "completion",
};

const head = ["serve", "/models/bundles/abc", "--uds", "/run/mg/inference-runner-1.sock"];
const names = ["--served-model-name", "st:latest", "sha256:abc"];

describe("vllmServeArguments", () => {
  it("serves the model directory on the socket under its names", () => {
    assert.deepEqual(vllmServeArguments(base), [...head, ...names]);
  });

  it("runs embeddings and reranking on the pooling runner", () => {
    assert.deepEqual(vllmServeArguments({ ...base, mode: "embedding" }), [...head, "--runner", "pooling", ...names]);
    assert.deepEqual(vllmServeArguments({ ...base, mode: "reranking" }), [...head, "--runner", "pooling", ...names]);
  });

  it("writes every setting in Docker Model Runner's order, user flags before modelgate's own", () => {
    const args = vllmServeArguments({
      ...base,
      draftDir: "/models/bundles/draft",
      config: {
        "context-size": 4096,
        "runtime-flags": ["--max-num-seqs", "8", "--enforce-eager"],
        vllm: { "gpu-memory-utilization": 0.5, "hf-overrides": { rope_scaling: { type: "dynamic", factor: 2 }, architectures: ["LlamaForCausalLM"] } },
        speculative: { draft_model: "sha256:draft", num_tokens: 4 },
      },
    });
    assert.deepEqual(args, [
      ...head,
      "--max-model-len", "4096",
      "--max-num-seqs", "8", "--enforce-eager",
      "--gpu-memory-utilization", "0.5",
      "--hf-overrides", '{"rope_scaling":{"type":"dynamic","factor":2},"architectures":["LlamaForCausalLM"]}',
      "--speculative-config", '{"model":"/models/bundles/draft","num_speculative_tokens":4}',
      ...names,
    ]);
  });

  it("drafts 5 tokens when the configuration does not say how many", () => {
    const args = vllmServeArguments({ ...base, draftDir: "/d", config: { speculative: { draft_model: "sha256:d" } } });
    assert.equal(args[args.indexOf("--speculative-config") + 1], '{"model":"/d","num_speculative_tokens":5}');
  });

  it("refuses a GPU share outside [0, 1]", () => {
    for (const share of [-0.1, 1.5, Number.NaN]) {
      assert.throws(() => vllmServeArguments({ ...base, config: { vllm: { "gpu-memory-utilization": share } } }), InvalidConfigurationError);
    }
    assert.ok(vllmServeArguments({ ...base, config: { vllm: { "gpu-memory-utilization": 1 } } }).includes("1"));
  });

  it("refuses HF overrides with bad keys or value types", () => {
    const bad: unknown[] = [{ "a-b": 1 }, { nested: { "x y": 1 } }, { __proto__key: 1, constructor: 2 }, { fn: () => 1 }, { n: Infinity }];
    for (const overrides of bad) {
      assert.throws(
        () => vllmServeArguments({ ...base, config: { vllm: { "hf-overrides": overrides as never } } }),
        InvalidConfigurationError,
        JSON.stringify(overrides),
      );
    }
  });

  it("refuses runtime flags with paths, flags modelgate owns, and flags off the allow-list", () => {
    const refused = [
      ["--max-num-seqs", "/etc/passwd"],
      ["--download-dir", "cache"],
      ["--uds", "other.sock"],
      ["--served-model-name", "x"],
      ["--trust-remote-code"],
      ["--tokenizer", "gpt2"],
      ["--max-model-len", "100"],
      ["--gpu-memory-utilization", "0.99"],
    ];
    for (const flags of refused) {
      assert.throws(() => vllmServeArguments({ ...base, config: { "runtime-flags": flags } }), InvalidConfigurationError, flags.join(" "));
    }
  });

  it("refuses speculative decoding without a located draft, or with an acceptance rate vLLM lacks", () => {
    assert.throws(() => vllmServeArguments({ ...base, config: { speculative: { draft_model: "d" } } }), /draft model d was not found/);
    assert.throws(
      () => vllmServeArguments({ ...base, draftDir: "/d", config: { speculative: { draft_model: "d", min_acceptance_rate: 0.5 } } }),
      /min_acceptance_rate/,
    );
  });
});
