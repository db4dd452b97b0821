import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { familyParsers, readVllmModelFacts } from "../../../src/backends/vllm/model-facts.ts";
import { InvalidConfigurationError } from "../../../src/inference/index.ts";

const dirs: string[] = [];
after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

async function modelDir(config: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "modelgate-vllm-facts-"));
  dirs.push(dir);
  await writeFile(join(dir, "config.json"), config);
  return dir;
}

describe("readVllmModelFacts", () => {
  it("takes the smallest of the context keys vllm/config/model.py _get_and_verify_max_len reads", async () => {
    const facts = await readVllmModelFacts(await modelDir(JSON.stringify({ model_type: "qwen2", architectures: ["Qwen2ForCausalLM"], max_position_embeddings: 32768, seq_length: 8192 })));
    assert.deepEqual(facts, { nativeContext: 8192, modelType: "qwen2", architectures: ["Qwen2ForCausalLM"] });
    assert.deepEqual(await readVllmModelFacts(await modelDir("{}")), { architectures: [] });
  });

  it("refuses a config.json that is not a JSON object", async () => {
    await assert.rejects(readVllmModelFacts(await modelDir("[1]")), InvalidConfigurationError);
    await assert.rejects(readVllmModelFacts(await modelDir("{")), /config\.json cannot be read/);
  });

  it("pairs families with vLLM's parsers (docs/features/tool_calling.md), none for the unknown", () => {
    assert.deepEqual(familyParsers({ modelType: "qwen3", architectures: [] }), { tool: "hermes", reasoning: "qwen3" });
    assert.deepEqual(familyParsers({ modelType: "phi", architectures: [] }), {});
    assert.deepEqual(familyParsers({ modelType: "constructor", architectures: [] }), {}, "no prototype key is a family");
  });
});
