import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defaultContextCap, vllmServeArguments, type VllmServeArgumentsInput } from "../../../src/backends/vllm/arguments.ts";
import { UnsupportedVllmVersionError, parseVllmVersion } from "../../../src/backends/vllm/version.ts";
import { InvalidConfigurationError } from "../../../src/inference/index.ts";

const qwen = { nativeContext: 32768, modelType: "qwen2", architectures: ["Qwen2ForCausalLM"] };
const base: VllmServeArgumentsInput = {
  modelDir: "/models/bundles/abc",
  model: qwen,
  socket: "/run/mg/inference-runner-1.sock",
  servedNames: ["st:latest", "sha256:abc"],
  mode: "completion",
  version: [0, 14, 0],
};

const head = ["serve", "/models/bundles/abc", "--uds", "/run/mg/inference-runner-1.sock"];
const names = ["--served-model-name", "st:latest", "sha256:abc"];
const hermes = ["--enable-auto-tool-choice", "--tool-call-parser", "hermes"];
const valueOf = (args: string[], flag: string) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);

describe("vllmServeArguments", () => {
  it("serves the model directory on the socket under its names, fitting the context (vLLM 0.12+ --max-model-len auto, PR #29431) and claiming its GPU share explicitly", () => {
    assert.deepEqual(vllmServeArguments(base), [...head, "--max-model-len", "auto", "--gpu-memory-utilization", "0.9", ...hermes, ...names]);
  });

  it("caps the native context where the version has no auto (vllm/config/model.py takes the whole native context, which rarely fits)", () => {
    assert.equal(valueOf(vllmServeArguments({ ...base, version: [0, 11, 0] }), "--max-model-len"), String(defaultContextCap));
    const small = { ...qwen, nativeContext: 2048 };
    assert.equal(valueOf(vllmServeArguments({ ...base, model: small, version: [0, 11, 0] }), "--max-model-len"), "2048");
    assert.equal(valueOf(vllmServeArguments({ ...base, model: { architectures: [] }, version: [0, 11, 0] }), "--max-model-len"), undefined);
  });

  it("clamps a context size to the model's native context (above it vllm/config/model.py _get_and_verify_max_len refuses to start)", () => {
    assert.equal(valueOf(vllmServeArguments({ ...base, config: { "context-size": 131072 } }), "--max-model-len"), "32768");
    assert.equal(valueOf(vllmServeArguments({ ...base, config: { "context-size": 4096 } }), "--max-model-len"), "4096");
  });

  it("runs embeddings and reranking on the pooling runner (vLLM 0.10.1+), without tool parsers", () => {
    const pooling = [...head, "--runner", "pooling", "--max-model-len", "auto", "--gpu-memory-utilization", "0.9", ...names];
    assert.deepEqual(vllmServeArguments({ ...base, mode: "embedding" }), pooling);
    assert.deepEqual(vllmServeArguments({ ...base, mode: "reranking" }), pooling);
    assert.throws(() => vllmServeArguments({ ...base, mode: "embedding", version: [0, 10, 0] }), /--runner pooling needs vLLM 0\.10\.1 or later/);
  });

  it("refuses a vLLM without --uds, saying which release is needed", () => {
    assert.throws(() => vllmServeArguments({ ...base, version: [0, 8, 5] }), (error: Error) => {
      assert.ok(error instanceof UnsupportedVllmVersionError);
      assert.equal(error.message, "vLLM 0.8.5 is too old: --uds needs vLLM 0.9.0 or later (pip install -U vllm)");
      return true;
    });
  });

  it("starts with the family's tool-call and reasoning parsers (docs/features/tool_calling.md), or the configured ones, or none", () => {
    const qwen3 = vllmServeArguments({ ...base, model: { ...qwen, modelType: "qwen3" } });
    assert.deepEqual(qwen3.slice(qwen3.indexOf("--enable-auto-tool-choice"), qwen3.indexOf("--served-model-name")), [...hermes, "--reasoning-parser", "qwen3"]);
    assert.equal(valueOf(vllmServeArguments({ ...base, model: { ...qwen, modelType: "llama" } }), "--tool-call-parser"), "llama3_json");
    const unknown = vllmServeArguments({ ...base, model: { ...qwen, modelType: "phi" } });
    assert.ok(!unknown.includes("--enable-auto-tool-choice"));
    const configured = vllmServeArguments({ ...base, model: { ...qwen, modelType: "phi" }, config: { vllm: { "tool-call-parser": "phi4_mini_json" } } });
    assert.equal(valueOf(configured, "--tool-call-parser"), "phi4_mini_json");
  });

  it("writes every setting in Docker Model Runner's order, user flags before modelgate's own", () => {
    const args = vllmServeArguments({
      ...base,
      draft: { dir: "/models/bundles/draft", facts: { architectures: ["Qwen2ForCausalLM"] } },
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
      ...hermes,
      "--hf-overrides", '{"rope_scaling":{"type":"dynamic","factor":2},"architectures":["LlamaForCausalLM"]}',
      "--speculative-config", '{"method":"draft_model","model":"/models/bundles/draft","num_speculative_tokens":4}',
      ...names,
    ]);
  });

  it("names the speculative method: eagle/eagle3 from the draft's architectures, else draft_model, refused before 0.14 (NotImplementedError in vllm/config/speculative.py up to 0.13)", () => {
    const speculative = (architectures: string[], version: VllmServeArgumentsInput["version"] = [0, 14, 0]) =>
      JSON.parse(valueOf(vllmServeArguments({ ...base, version, draft: { dir: "/d", facts: { architectures } }, config: { speculative: { draft_model: "d" } } }), "--speculative-config")!) as { method: string; num_speculative_tokens: number };
    assert.deepEqual(speculative(["Qwen2ForCausalLM"]), { method: "draft_model", model: "/d", num_speculative_tokens: 5 });
    assert.equal(speculative(["EagleLlamaForCausalLM"], [0, 11, 0]).method, "eagle");
    assert.equal(speculative(["LlamaForCausalLMEagle3"], [0, 11, 0]).method, "eagle3");
    assert.throws(() => speculative(["Qwen2ForCausalLM"], [0, 13, 0]), /draft-model speculative decoding needs vLLM 0\.14\.0 or later/);
  });

  it("refuses a GPU share outside (0, 1]: 0 is a pydantic error in vllm/config/cache.py (gt=0, le=1)", () => {
    for (const share of [0, -0.1, 1.5, Number.NaN]) {
      assert.throws(() => vllmServeArguments({ ...base, config: { vllm: { "gpu-memory-utilization": share } } }), InvalidConfigurationError, String(share));
    }
    assert.equal(valueOf(vllmServeArguments({ ...base, config: { vllm: { "gpu-memory-utilization": 1 } } }), "--gpu-memory-utilization"), "1");
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

  it("refuses runtime flags with paths, flags modelgate owns, flags off the allow-list, and flags vLLM removed", () => {
    const refused = [
      ["--max-num-seqs", "/etc/passwd"],
      ["--download-dir", "cache"],
      ["--uds", "other.sock"],
      ["--served-model-name", "x"],
      ["--trust-remote-code"],
      ["--tokenizer", "gpt2"],
      ["--max-model-len", "100"],
      ["--gpu-memory-utilization", "0.99"],
      ["--tool-call-parser", "hermes"],
      ["--swap-space", "4"],
      ["--max-seq-len-to-capture", "8192"],
      ["--disable-log-requests"],
      ["--cuda-graph-sizes", "8"],
      ["--max-num-partial-prefills", "2"],
      ["--max-long-partial-prefills", "1"],
    ];
    for (const flags of refused) {
      assert.throws(() => vllmServeArguments({ ...base, config: { "runtime-flags": flags } }), InvalidConfigurationError, flags.join(" "));
    }
    const current = ["--cudagraph-capture-sizes", "1", "--max-cudagraph-capture-size", "64", "--default-chat-template-kwargs", '{"enable_thinking":false}'];
    assert.deepEqual(vllmServeArguments({ ...base, config: { "runtime-flags": current } }).slice(6, 12), current);
  });

  it("refuses speculative decoding without a located draft, or with an acceptance rate vLLM lacks", () => {
    assert.throws(() => vllmServeArguments({ ...base, config: { speculative: { draft_model: "d" } } }), /draft model d was not found/);
    assert.throws(
      () => vllmServeArguments({ ...base, draft: { dir: "/d", facts: { architectures: [] } }, config: { speculative: { draft_model: "d", min_acceptance_rate: 0.5 } } }),
      /min_acceptance_rate/,
    );
  });
});

describe("parseVllmVersion", () => {
  it("reads what vllm --version prints (vllm/entrypoints/cli/main.py), after any log lines", () => {
    assert.deepEqual(parseVllmVersion("0.11.0\n"), [0, 11, 0]);
    assert.deepEqual(parseVllmVersion("INFO 12-01 [__init__.py] Automatically detected platform cuda.\n0.10.1.1\n"), [0, 10, 1]);
    assert.deepEqual(parseVllmVersion("0.12.0rc1.dev5+g1234\n"), [0, 12, 0]);
    assert.throws(() => parseVllmVersion("no version here"), /printed no version/);
  });
});
