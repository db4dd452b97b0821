import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidConfigurationError } from "../../../src/inference/index.ts";
import { llamaServerArguments, type LlamaServerArgumentsInput } from "../../../src/backends/llamacpp/arguments.ts";

const base: LlamaServerArgumentsInput = {
  model: { ggufPath: "/models/tiny.gguf" },
  socket: "/run/mg/tiny.sock",
  mode: "completion",
  gpu: false,
};

describe("llamaServerArguments", () => {
  it("runs a completion model on the socket with metrics and jinja", () => {
    assert.deepEqual(llamaServerArguments(base), ["--metrics", "-lv", "4", "--model", "/models/tiny.gguf", "--host", "/run/mg/tiny.sock", "--context-shift", "--jinja"]);
  });

  it("offloads every layer on a GPU build", () => {
    assert.deepEqual(llamaServerArguments({ ...base, gpu: true }).slice(0, 5), ["--metrics", "-lv", "4", "-ngl", "999"]);
  });

  it("lets the user's -ngl (any spelling) replace the default of every layer, for the model and the draft", () => {
    for (const flags of [["-ngl", "20"], ["--n-gpu-layers=0"], ["--gpu-layers", "auto"]]) {
      const args = llamaServerArguments({ ...base, gpu: true, config: { "runtime-flags": flags } });
      assert.ok(!args.includes("999"), `${flags.join(" ")} wins: ${args.join(" ")}`);
      assert.deepEqual(args.slice(-flags.length - 1, -1), flags);
    }
    const config = { speculative: { draft_model: "d" }, "runtime-flags": ["-ngld", "0"] };
    const args = llamaServerArguments({ ...base, gpu: true, config, draft: { ggufPath: "/d.gguf" } });
    assert.deepEqual(args.slice(3, 5), ["-ngl", "999"]);
    assert.ok(!args.includes("--spec-draft-ngl"));
    assert.deepEqual(args.slice(-3, -1), ["-ngld", "0"]);
  });

  it("serves embeddings, asking for mean pooling only when the model declares none", () => {
    const declared = llamaServerArguments({ ...base, mode: "embedding", modelDeclaresPooling: true });
    assert.deepEqual(declared, ["--metrics", "-lv", "4", "--model", "/models/tiny.gguf", "--host", "/run/mg/tiny.sock", "--embeddings", "--jinja"]);
    const undeclared = llamaServerArguments({ ...base, mode: "embedding", modelDeclaresPooling: false });
    assert.deepEqual(undeclared.slice(7), ["--embeddings", "--pooling", "mean", "--jinja"]);
    const chosen = llamaServerArguments({ ...base, mode: "embedding", modelDeclaresPooling: false, config: { "runtime-flags": ["--pooling", "cls"] } });
    assert.deepEqual(chosen.slice(7), ["--embeddings", "--pooling", "cls", "--jinja"]);
  });

  it("makes an embedding batch as large as the context, so long inputs fit one micro-batch", () => {
    const trained = llamaServerArguments({ ...base, mode: "embedding", trainedContext: 2048 });
    assert.deepEqual(trained.slice(7), ["--embeddings", "--batch-size", "2048", "--ubatch-size", "2048", "--jinja"]);
    const configured = llamaServerArguments({ ...base, mode: "reranking", trainedContext: 2048, config: { "context-size": 8192 } });
    assert.deepEqual(configured.slice(7, 13), ["--embeddings", "--reranking", "--batch-size", "8192", "--ubatch-size", "8192"]);
    assert.ok(!llamaServerArguments({ ...base, trainedContext: 2048 }).includes("--batch-size"), "completion keeps the engine's batch");
  });

  it("names the model in responses by its reference, not its file", () => {
    const args = llamaServerArguments({ ...base, alias: "tiny:latest" });
    assert.deepEqual(args.slice(5, 9), ["--host", "/run/mg/tiny.sock", "--alias", "tiny:latest"]);
  });

  it("serves reranking", () => {
    assert.deepEqual(llamaServerArguments({ ...base, mode: "reranking" }).slice(7), ["--embeddings", "--reranking", "--jinja"]);
  });

  it("places reasoning budget, every slot's context (no memory fitting then), then the user's flags", () => {
    const args = llamaServerArguments({
      ...base,
      config: { "context-size": 4096, llamacpp: { "reasoning-budget": 0 }, "runtime-flags": ["--threads", "2", "--temp=0.2"] },
    });
    assert.deepEqual(args.slice(7), [
      "--reasoning-budget", "0", "--parallel", "4", "--ctx-size", "16384", "--fit", "off", "--context-shift", "--n-predict", "40960", "--threads", "2", "--temp=0.2", "--jinja",
    ]);
  });

  it("starts the runner with Ollama's load-time options: layers, threads, batch, mmap, main GPU, context shift", () => {
    const llamacpp = { "gpu-layers": 0, threads: 3, "batch-size": 64, mmap: false, "main-gpu": 1, "context-shift": false };
    const args = llamaServerArguments({ ...base, gpu: true, trainedContext: 2048, config: { "context-size": 512, llamacpp } });
    assert.deepEqual(args, [
      "--metrics", "-lv", "4", "--n-gpu-layers", "0", "--model", "/models/tiny.gguf", "--host", "/run/mg/tiny.sock",
      "--batch-size", "64", "--ubatch-size", "64", "--threads", "3", "--load-mode", "none", "--split-mode", "none", "--main-gpu", "1",
      "--parallel", "4", "--ctx-size", "2048", "--fit", "off", "--no-context-shift", "--jinja",
    ]);
  });

  it("gives each slot a cache of its own with the context size, as Ollama's num_ctx × parallel; the user's --parallel sets how many", () => {
    const slotFlags = (config: LlamaServerArgumentsInput["config"]) => {
      const args = llamaServerArguments({ ...base, config });
      return args.slice(args.indexOf("--parallel"), args.indexOf("--parallel") + 4);
    };
    assert.deepEqual(slotFlags({ "context-size": 1024 }), ["--parallel", "4", "--ctx-size", "4096"], "llama-server's 4 slots, no longer unified");
    assert.deepEqual(slotFlags({ "context-size": 1024, "runtime-flags": ["-np", "2"] }), ["--parallel", "2", "--ctx-size", "2048"]);
    assert.deepEqual(slotFlags({ "context-size": 1024, "runtime-flags": ["--parallel=1"] }), ["--parallel", "1", "--ctx-size", "1024"]);
    const user = ["--parallel", "-1", "--ctx-size", "3000", "-kvu"];
    const args = llamaServerArguments({ ...base, config: { "context-size": 1024, "runtime-flags": user } });
    assert.deepEqual(args.slice(-user.length - 1, -1), user, "the user's own, after modelgate's, win");
    assert.ok(!llamaServerArguments({ ...base, trainedContext: 2048 }).includes("--parallel"), "without a context size llama-server's auto slots share 4 trained contexts");
  });

  it("shifts the context by default, with ten contexts' worth of tokens as the default limit (the trained context when none is set)", () => {
    assert.deepEqual(llamaServerArguments({ ...base, trainedContext: 2048 }).slice(7, -1), ["--context-shift", "--n-predict", "20480"]);
    assert.ok(!llamaServerArguments({ ...base, mode: "embedding", trainedContext: 2048 }).includes("--context-shift"), "completion only");
  });

  it("adds the projector of a multimodal model", () => {
    const args = llamaServerArguments({ ...base, model: { ggufPath: "/models/v.gguf", mmprojPath: "/models/v.mmproj" } });
    assert.deepEqual(args.slice(-3), ["--jinja", "--mmproj", "/models/v.mmproj"]);
  });

  it("runs speculative decoding with the located draft model", () => {
    const config = { speculative: { draft_model: "tiny-draft", num_tokens: 8, min_acceptance_rate: 0.75 } };
    const args = llamaServerArguments({ ...base, config, draft: { ggufPath: "/models/draft.gguf" } });
    assert.deepEqual(args.slice(7), ["--context-shift", "--spec-type", "draft-simple", "--spec-draft-model", "/models/draft.gguf", "--spec-draft-n-max", "8", "--spec-draft-p-min", "0.75", "--jinja"]);
    const onGpu = llamaServerArguments({ ...base, gpu: true, config: { speculative: { draft_model: "d" } }, draft: { ggufPath: "/d.gguf" } });
    assert.deepEqual(onGpu.slice(9), ["--context-shift", "--spec-type", "draft-simple", "--spec-draft-model", "/d.gguf", "--spec-draft-ngl", "999", "--jinja"]);
  });

  it("accepts tuning flags, their values and negative numbers", () => {
    const flags = ["--threads", "2", "-np", "4", "--seed", "-1", "--temp=0.7", "-fa", "on", "--cache-type-k", "q8_0", "--rope-freq-scale", "-0.5"];
    assert.deepEqual(llamaServerArguments({ ...base, config: { "runtime-flags": flags } }).slice(8, -1), flags);
  });

  it("refuses a speculative configuration whose draft model was not located", () => {
    assert.throws(() => llamaServerArguments({ ...base, config: { speculative: { draft_model: "missing" } } }), InvalidConfigurationError);
  });

  for (const flags of [["--log-file", "/etc/passwd"], ["--model", "x.gguf"], ["--host=0.0.0.0"], ["--spec-draft-model", "x.gguf"], ["-hfd", "org"], ["--models-dir", "m"], ["--tools", "exec_shell_command"], ["--agent"], ["--mcp-servers-json", "{}"], ["-lcd=cache"], ["--props"], ["--api-prefix", "x"], ["--override-kv", "a=int:1"], ["--some-future-flag"]]) {
    it(`rejects runtime flags ${flags.join(" ")}`, () => {
      assert.throws(() => llamaServerArguments({ ...base, config: { "runtime-flags": flags } }), InvalidConfigurationError);
    });
  }
});
