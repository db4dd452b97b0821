import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { diagnoseVllmExit } from "../../../src/backends/vllm/crash-diagnosis.ts";
import { adaptVllmRequest } from "../../../src/backends/vllm/request-adapter.ts";
import { UnsupportedRequestError } from "../../../src/inference/index.ts";

const chat = { path: "/v1/chat/completions", model: "sha256:m", contextSize: 4096 };
const runner = { name: "m:latest", toolParser: "hermes" };
const tools = [{ type: "function", function: { name: "f", parameters: {} } }];

describe("adaptVllmRequest", () => {
  it("renames repeat_penalty to vLLM's repetition_penalty (vllm/entrypoints/openai/protocol.py) and drops llama-server-only fields", () => {
    assert.deepEqual(adaptVllmRequest(chat, { model: "m", repeat_penalty: 1.2, typical_p: 0.5, repeat_last_n: 64, n_keep: 4, truncate: true }, runner), {
      model: "m",
      repetition_penalty: 1.2,
    });
    assert.equal(adaptVllmRequest(chat, { repeat_penalty: 1.2, repetition_penalty: 1.1 }, runner).repetition_penalty, 1.1, "vLLM's own name wins");
  });

  it("refuses tools without a tool-call parser (serving_chat.py would answer with its flag advice), but not tool_choice none", () => {
    assert.deepEqual(adaptVllmRequest(chat, { tools }, runner), { tools });
    assert.throws(() => adaptVllmRequest(chat, { tools }, { name: "m:latest" }), (error: Error) => {
      assert.ok(error instanceof UnsupportedRequestError);
      assert.match(error.message, /^"m:latest" does not support tools on vLLM/);
      return true;
    });
    assert.deepEqual(adaptVllmRequest(chat, { tools, tool_choice: "none" }, { name: "m:latest" }), { tools, tool_choice: "none" });
    assert.deepEqual(adaptVllmRequest(chat, { tools: [] }, { name: "m:latest" }), { tools: [] });
  });

  it("refuses a suffix on /v1/completions (serving_completion.py: suffix is not currently supported)", () => {
    const completions = { ...chat, path: "/v1/completions" };
    assert.throws(() => adaptVllmRequest(completions, { prompt: "a", suffix: "b" }, runner), /does not support insert on vLLM/);
    assert.deepEqual(adaptVllmRequest(completions, { prompt: "a", suffix: "" }, runner), { prompt: "a", suffix: "" });
  });

  it("turns Ollama's truncate into truncate_prompt_tokens, and llama-server's /tokenize body into vLLM's", () => {
    const embeddings = { ...chat, path: "/v1/embeddings", contextSize: 512 };
    assert.deepEqual(adaptVllmRequest(embeddings, { input: "x", truncate: true }, runner), { input: "x", truncate_prompt_tokens: 512 });
    assert.deepEqual(adaptVllmRequest({ ...embeddings, contextSize: null }, { input: "x", truncate: true }, runner), { input: "x", truncate_prompt_tokens: -1 });
    assert.deepEqual(adaptVllmRequest(embeddings, { input: "x", truncate: false }, runner), { input: "x" });
    const tokenize = { ...chat, path: "/tokenize" };
    assert.deepEqual(adaptVllmRequest(tokenize, { model: "m", content: "hi", add_special: true, parse_special: true }, runner), {
      model: "m",
      prompt: "hi",
      add_special_tokens: true,
    });
  });
});

describe("diagnoseVllmExit", () => {
  const exited = { exitCode: 1, signal: null };
  const cases: [string, RegExp][] = [
    ["ValueError: To serve at least one request with the model's max seq len (131072), (16.00 GiB KV cache is needed, which is larger than the available KV cache memory (9.5 GiB).", /^the context does not fit in the KV cache/],
    ["ValueError: Free memory on device cuda:0 (3.25/23.43 GiB) on startup is less than desired GPU memory utilization (0.9, 21.09 GiB). Decrease GPU memory utilization or reduce GPU memory used by other processes.", /^the GPU has less free memory than gpu-memory-utilization asks for/],
    ["  Value error, User-specified max_model_len (65536) is greater than the derived max_model_len (max_position_embeddings=32768 or model_max_length=None in model's config.json).", /^the context size is above the model's native context/],
    ["torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB", /^not enough GPU memory/],
    ["RuntimeError: No CUDA GPUs are available", /^no usable GPU/],
    ["ValueError: Model architectures ['FooForCausalLM'] are not supported for now.", /^this vLLM does not support the model's architecture/],
    ["vllm: error: unrecognized arguments: --swap-space 4", /^an argument this vLLM does not take/],
    ["pydantic_core._pydantic_core.ValidationError: 1 validation error for CacheConfig", /^vLLM refused its configuration/],
    ["OSError: AF_UNIX path too long", /^the socket's path is too long/],
  ];
  for (const [line, expected] of cases) {
    it(`names ${expected.source.slice(1, 40)}…`, () => {
      assert.match(diagnoseVllmExit.diagnose(["INFO loading", line, "Traceback (most recent call last):"], exited) ?? "", expected);
      assert.equal(diagnoseVllmExit.isCause(line), true);
    });
  }
});
