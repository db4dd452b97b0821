import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { estimateLlamaServerMemory, type ModelShape } from "../../../src/backends/llamacpp/memory.ts";

const MiB = 1024 * 1024;

/** An 8B-class model: 32 layers, 8 KV heads of 128, 128k vocabulary, about 4.6 GiB of Q4 weights. */
const model: ModelShape = {
  weightBytes: 4700 * MiB,
  tokenEmbeddingBytes: 280 * MiB,
  layers: 32,
  embeddingLength: 4096,
  feedForwardLength: 14336,
  kvHeads: 8,
  keyLength: 128,
  valueLength: 128,
  vocabularySize: 128256,
  trainedContext: 8192,
  declaresPooling: false,
};

/** f16 K and V for every layer and cell. */
const kvBytes = (cells: number) => 32 * cells * 8 * 256 * 2;

describe("estimateLlamaServerMemory", () => {
  it("grows by every slot's KV cache and one slot's attention mask as the context grows", () => {
    const small = estimateLlamaServerMemory({ model, contextSize: 4096, gpu: false });
    const large = estimateLlamaServerMemory({ model, contextSize: 8192, gpu: false });
    assert.equal(large.ram - small.ram, kvBytes(4 * 4096) + 4096 * 512 * 2);
    assert.ok(small.ram > model.weightBytes + kvBytes(4 * 4096));
    assert.equal(small.vram, 0);
  });

  it("gives each of the 4 slots its own cache of the context size, as Ollama's num_ctx × parallel", () => {
    const perSlot = estimateLlamaServerMemory({ model, contextSize: 2048, gpu: false });
    const oneSlot = estimateLlamaServerMemory({ model, contextSize: 2048, runtimeFlags: ["-np", "1"], gpu: false });
    assert.equal(perSlot.ram - oneSlot.ram, kvBytes(3 * 2048) + 3 * (128256 + 4096) * 4, "three more caches and rows of logits, the same mask");
    const shared = estimateLlamaServerMemory({ model, contextSize: 2048, runtimeFlags: ["--kv-unified"], gpu: false });
    assert.equal(shared.ram - perSlot.ram, (4 - 1) * 2048 * 512 * 2, "-kvu: the same cells, but each slot's attention spans them all");
    assert.deepEqual(estimateLlamaServerMemory({ model, contextSize: 2048, runtimeFlags: ["-kvu", "-no-kvu"], gpu: false }), perSlot, "the last switch wins");
  });

  it("pads as llama-server pads: the total to 256 cells, then each slot's", () => {
    const estimate = (contextSize: number, runtimeFlags: string[] = []) => estimateLlamaServerMemory({ model, contextSize, runtimeFlags, gpu: false });
    // 4 × 300 = 1200 → 1280 cells, 320 a slot → 512: 2048 in all (`n_ctx is not divisible by n_seq_max`).
    assert.deepEqual(estimate(300), estimate(512));
    assert.deepEqual(estimate(1000, ["-np", "3"]), estimate(1024, ["-np", "3"]));
  });

  it("uses a unified cache of 4 trained contexts when none is configured, as llama-server's auto slots and --fit do", () => {
    const unset = estimateLlamaServerMemory({ model, gpu: false });
    assert.deepEqual(unset, estimateLlamaServerMemory({ model, contextSize: 8192, runtimeFlags: ["-kvu"], gpu: false }));
    const perSlot = estimateLlamaServerMemory({ model, contextSize: 8192, gpu: false });
    assert.equal(unset.ram - perSlot.ram, 3 * 8192 * 512 * 2, "the same cells; a slot's mask spans them all");
    const unfitted = estimateLlamaServerMemory({ model, runtimeFlags: ["--fit", "off"], gpu: false });
    assert.equal(unset.ram - unfitted.ram, kvBytes(3 * 8192) + 3 * 8192 * 512 * 2, "without --fit the trained context is the total");
  });

  it("lets the runtime flags' --ctx-size and --parallel win, as on the command line", () => {
    const configured = estimateLlamaServerMemory({ model, contextSize: 4096, gpu: false });
    const overridden = estimateLlamaServerMemory({ model, contextSize: 4096, runtimeFlags: ["--ctx-size=2048"], gpu: false });
    assert.equal(configured.ram - overridden.ram, kvBytes(4 * 4096 - 2048) + (4096 - 512) * 512 * 2, "--ctx-size is the total, split among 4 slots");
    const auto = estimateLlamaServerMemory({ model, contextSize: 4096, runtimeFlags: ["--parallel", "-1"], gpu: false });
    assert.equal(auto.ram - configured.ram, 3 * 4096 * 512 * 2, "--parallel auto unifies the 4 slots' caches");
    const twoSlots = estimateLlamaServerMemory({ model, runtimeFlags: ["-np", "2"], gpu: false });
    assert.equal(estimateLlamaServerMemory({ model, contextSize: 8192, gpu: false }).ram - twoSlots.ram, kvBytes(2 * 8192) + 2 * (128256 + 4096) * 4);
  });

  it("puts all but the process, the token embeddings and the output buffer in VRAM on a GPU build", () => {
    const cpu = estimateLlamaServerMemory({ model, contextSize: 4096, gpu: false });
    const gpu = estimateLlamaServerMemory({ model, contextSize: 4096, gpu: true });
    assert.equal(gpu.ram + gpu.vram, cpu.ram);
    assert.ok(gpu.vram > model.weightBytes - model.tokenEmbeddingBytes && gpu.ram < 400 * MiB);
  });

  it("keeps in RAM the layers a user's -ngl leaves there, for the model and the draft apart", () => {
    const all = estimateLlamaServerMemory({ model, contextSize: 4096, gpu: true });
    const none = estimateLlamaServerMemory({ model, contextSize: 4096, gpu: true, runtimeFlags: ["-ngl", "0"] });
    assert.equal(none.vram, 0);
    assert.equal(none.ram, estimateLlamaServerMemory({ model, contextSize: 4096, gpu: false }).ram);
    const half = estimateLlamaServerMemory({ model, contextSize: 4096, gpu: true, runtimeFlags: ["--n-gpu-layers=16"] });
    assert.ok(Math.abs(half.vram - all.vram / 2) <= 1, `${half.vram} is half of ${all.vram}`);
    for (const value of ["all", "auto", "-1", "999"]) {
      assert.deepEqual(estimateLlamaServerMemory({ model, contextSize: 4096, gpu: true, runtimeFlags: ["-ngl", value] }), all, value);
    }
    const draft = { ...model, weightBytes: 500 * MiB, layers: 8 };
    const draftOnCpu = estimateLlamaServerMemory({ model, draft, contextSize: 4096, gpu: true, runtimeFlags: ["-ngld", "0"] });
    assert.equal(draftOnCpu.vram, all.vram, "only the draft stays in RAM");
  });

  it("adds the draft model's weights and cache", () => {
    const draft: ModelShape = { ...model, weightBytes: 500 * MiB, layers: 16 };
    const alone = estimateLlamaServerMemory({ model, contextSize: 4096, gpu: false });
    const withDraft = estimateLlamaServerMemory({ model, draft, contextSize: 4096, gpu: false });
    assert.ok(withDraft.ram - alone.ram > draft.weightBytes + kvBytes(4096) / 2);
  });

  it("counts an embedding model's output buffer per token of a micro-batch", () => {
    const embedder: ModelShape = { ...model, declaresPooling: true };
    const chat = estimateLlamaServerMemory({ model, contextSize: 4096, gpu: false });
    const embedding = estimateLlamaServerMemory({ model: embedder, contextSize: 4096, gpu: false });
    assert.equal(embedding.ram - chat.ram, (512 - 4) * (128256 + 4096) * 4);
  });
});
