/** Tiny Hugging Face directories for the vLLM stand-in, uploaded through Ollama's blob API. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { Ollama } from "ollama";

/** One 2×4 F32 tensor, a config, a tokenizer: enough for the store and the stand-in. */
export function safetensorsFiles(config: Record<string, unknown> = {}, extra: Record<string, Buffer> = {}): Record<string, Buffer> {
  let header = JSON.stringify({ __metadata__: { format: "pt" }, "model.embed.weight": { dtype: "F32", shape: [2, 4], data_offsets: [0, 32] } });
  header += " ".repeat((8 - (header.length % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  const data = Buffer.alloc(32);
  for (let i = 0; i < 8; i++) data.writeFloatLE(i / 8, i * 4);
  const fullConfig = { model_type: "llama", architectures: ["LlamaForCausalLM"], hidden_size: 8, max_position_embeddings: 256, num_hidden_layers: 1, num_attention_heads: 2, ...config };
  return {
    "model.safetensors": Buffer.concat([length, Buffer.from(header), data]),
    "config.json": Buffer.from(JSON.stringify(fullConfig)),
    // A template that reads `tools`: the model can call them, as far as Ollama's capabilities go.
    "tokenizer_config.json": Buffer.from(JSON.stringify({ chat_template: "{% if tools %}{{ tools | tojson }}{% endif %}{% for m in messages %}{{ m.content }}{% endfor %}" })),
    "tokenizer.json": Buffer.from("{}"),
    ...extra,
  };
}

/** Uploads the files as blobs and creates `name` from them with /api/create. */
export async function createSafetensorsModel(url: string, ollama: Ollama, name: string, files: Record<string, Buffer>): Promise<void> {
  const digests: Record<string, string> = {};
  for (const [file, bytes] of Object.entries(files)) {
    const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    // 201 stored; 200 when the store had it (models share files such as tokenizer.json), as in Ollama.
    const { status } = await fetch(`${url}/api/blobs/${digest}`, { method: "POST", body: bytes });
    assert.ok(status === 201 || status === 200, `upload of ${file}: ${status}`);
    digests[file] = digest;
  }
  // ollama-js sends `files` through, though its 0.6.4 types do not name it.
  await ollama.create({ ...{ model: name, files: digests }, stream: false });
}
