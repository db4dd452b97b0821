import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { GGMLType, encodeGGUF, entry, type GGUFSpec } from "../../fixtures/gguf-writer.ts";
import { GGUFParseError } from "../../src/inference/gguf-parse-error.ts";
import { ensureLlamaCppSource } from "../../src/backends/llamacpp/source.ts";
import { GGUFValueType, ggmlTensorBytes, readGGUF, summarizeGGUF, type GGUFArray } from "../../src/models/gguf.ts";
import { seededRandom } from "../support/seeded-random.ts";

let dir: string;
let count = 0;
async function fileOf(bytes: Uint8Array): Promise<string> {
  const path = join(dir, `case-${count++}.gguf`);
  await writeFile(path, bytes);
  return path;
}

async function rejects(bytes: Uint8Array, reason: RegExp): Promise<void> {
  await assert.rejects(readGGUF(await fileOf(bytes)), (error: unknown) => {
    assert.ok(error instanceof GGUFParseError, `expected a GGUFParseError, got ${String(error)}`);
    assert.match(error.message, reason);
    return true;
  });
}

/** A small file with a bit of everything: the base of the hostile cases and the fuzz. */
const sample: GGUFSpec = {
  metadata: [
    ["general.architecture", entry.string("llama")],
    ["general.name", entry.string("sample")],
    ["general.file_type", entry.uint32(1)],
    ["llama.context_length", entry.uint32(2048)],
    ["llama.embedding_length", entry.uint32(64)],
    ["llama.attention.head_count", entry.uint32(4)],
    ["llama.rope.freq_base", entry.float32(10000)],
    ["sample.i64", entry.int64(-5n)],
    ["sample.f64", entry.float64(0.125)],
    ["sample.flag", entry.bool(true)],
    ["tokenizer.ggml.model", entry.string("gpt2")],
    ["tokenizer.ggml.tokens", entry.array(GGUFValueType.STRING, Array.from({ length: 200 }, (_, i) => `tok${i}`))],
    ["tokenizer.ggml.token_type", entry.array(GGUFValueType.INT32, new Int32Array(200).fill(1))],
    ["sample.nested", entry.array(GGUFValueType.ARRAY, [{ itemType: GGUFValueType.UINT16, items: Uint16Array.of(1, 2) }])],
  ],
  tensors: [
    { name: "token_embd.weight", dims: [64, 8], data: { type: GGMLType.F16, values: new Float32Array(512).fill(0.5) } },
    { name: "output_norm.weight", dims: [64], data: { type: GGMLType.F32, values: new Float32Array(64).fill(1) } },
    { name: "blk.0.ffn_down.weight", dims: [64, 2], data: { type: 8 /* Q8_0 */, bytes: new Uint8Array(2 * 2 * 34) } },
  ],
};

/** The byte offset just after the first occurrence of `marker` in `bytes`. */
function endOf(bytes: Buffer, marker: string): number {
  const at = bytes.indexOf(marker);
  assert.ok(at >= 0, `marker ${marker} not found`);
  return at + Buffer.byteLength(marker);
}

describe("readGGUF", () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gguf-test-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads and summarizes a crafted file", async () => {
    const file = await readGGUF(await fileOf(encodeGGUF(sample)));
    assert.equal(file.version, 3);
    assert.equal(file.tensors.length, 3);
    assert.equal((file.metadata.get("tokenizer.ggml.tokens")?.value as GGUFArray).items[199], "tok199");
    assert.deepEqual(summarizeGGUF(file), {
      architecture: "llama",
      name: "sample",
      parameterCount: 512 + 64 + 128,
      fileType: 1,
      quantization: "F16",
      contextLength: 2048,
      embeddingLength: 64,
      blockCount: undefined,
      headCount: 4,
      headCountKv: 4,
      keyLength: 16,
      valueLength: undefined,
      slidingWindow: undefined,
      poolingType: undefined,
      chatTemplate: undefined,
      hasTokenizer: true,
      fillInTheMiddle: false,
      tokenizerModel: "gpt2",
      tensorBytes: 1024 + 256 + 136,
      fileSize: file.fileSize,
      feedForwardLength: undefined,
      vocabularySize: 200,
      tokenEmbeddingBytes: 1024,
    });
  });

  it("plans memory by the widest layer when the feed-forward width varies per layer", async () => {
    const spec = { ...sample, metadata: [...sample.metadata, ["llama.feed_forward_length", entry.array(GGUFValueType.UINT32, Uint32Array.of(128, 256, 192))] as const] };
    assert.equal(summarizeGGUF(await readGGUF(await fileOf(encodeGGUF(spec)))).feedForwardLength, 256);
  });

  it("names the quantization after the dominant tensor type when file_type is absent", async () => {
    const spec = { ...sample, metadata: [...sample.metadata].filter(([key]) => key !== "general.file_type") };
    assert.equal(summarizeGGUF(await readGGUF(await fileOf(encodeGGUF(spec)))).quantization, "F16");
  });

  it("reads strings longer than its read buffer, in arrays and alone", async () => {
    const long = "é".repeat(1_500_000); // 3 MB of UTF-8
    const items = ["a", long, "b", ...Array.from({ length: 100_000 }, (_, i) => `t${i}`)];
    const file = await readGGUF(
      await fileOf(encodeGGUF({ metadata: [["strings", entry.array(GGUFValueType.STRING, items)], ["long", entry.string(long)]] })),
    );
    assert.deepEqual((file.metadata.get("strings")?.value as GGUFArray).items, items);
    assert.equal(file.metadata.get("long")?.value, long);
  });

  it("reads GGUF version 2", async () => {
    assert.equal((await readGGUF(await fileOf(encodeGGUF({ ...sample, version: 2 })))).version, 2);
  });

  it("knows the block sizes of quantized types", () => {
    assert.equal(ggmlTensorBytes(12 /* Q4_K */, [256, 2]), 2 * 144);
    assert.equal(ggmlTensorBytes(14 /* Q6_K */, [4096, 4096]), 4096 * 16 * 210);
    assert.equal(ggmlTensorBytes(8 /* Q8_0 */, [64]), 2 * 34);
    assert.equal(ggmlTensorBytes(39 /* MXFP4 */, [32]), 17);
    assert.throws(() => ggmlTensorBytes(8, [33]), GGUFParseError);
  });

  describe("refuses hostile and corrupt files with a GGUFParseError", () => {
    const valid = encodeGGUF(sample);
    const patched = (patch: (bytes: Buffer) => void) => {
      const bytes = Buffer.from(valid);
      patch(bytes);
      return bytes;
    };

    it("not GGUF at all", async () => {
      await rejects(Buffer.from("PK\x03\x04 a zip file, not a model"), /not a GGUF file/);
      await rejects(Buffer.alloc(0), /not a GGUF file/);
      await rejects(Buffer.from("GG"), /not a GGUF file/);
    });

    it("unsupported versions, with a hint for big-endian files", async () => {
      await rejects(patched((b) => b.writeUInt32LE(1, 4)), /version 1 is not supported/);
      await rejects(patched((b) => b.writeUInt32BE(3, 4)), /big-endian/);
      await rejects(patched((b) => b.writeUInt32LE(99, 4)), /unsupported GGUF version 99/);
    });

    it("truncated anywhere", async () => {
      const file = await readGGUF(await fileOf(valid));
      const last = file.tensors.at(-1)!;
      const dataEnd = file.dataOffset + last.offset + last.size;
      for (const length of [10, 24, 40, 100, 1000, file.dataOffset - 1, dataEnd - 1]) {
        await rejects(valid.subarray(0, length), /truncated|cannot fit|past the end|missing/);
      }
    });

    it("counts and lengths that cannot fit in the file, before allocating", async () => {
      await rejects(patched((b) => b.writeBigUInt64LE(2n ** 62n, 16)), /metadata count .* cannot fit/);
      await rejects(patched((b) => b.writeBigUInt64LE(2n ** 40n, 8)), /tensor count .* cannot fit/);
      const name = endOf(valid, "general.name") + 4; // past the value type
      await rejects(patched((b) => b.writeBigUInt64LE(2n ** 63n, name)), /general.name length .* cannot fit/);
      const tokens = endOf(valid, "tokenizer.ggml.tokens") + 4 + 4;
      await rejects(patched((b) => b.writeBigUInt64LE(2n ** 50n, tokens)), /tokenizer.ggml.tokens array count .* cannot fit/);
      await rejects(patched((b) => b.writeBigUInt64LE(10_000_000n, tokens)), /cannot fit/);
    });

    it("unknown value types", async () => {
      await rejects(patched((b) => b.writeUInt32LE(13, endOf(valid, "general.name"))), /unknown value type 13/);
      await rejects(patched((b) => b.writeUInt32LE(77, endOf(valid, "tokenizer.ggml.tokens") + 4)), /unknown array item type 77/);
    });

    it("arrays nested too deep", async () => {
      let value: GGUFArray = { itemType: GGUFValueType.UINT8, items: Uint8Array.of(1) };
      for (let depth = 0; depth < 6; depth++) value = { itemType: GGUFValueType.ARRAY, items: [value] };
      await rejects(encodeGGUF({ metadata: [["deep", { type: GGUFValueType.ARRAY, value }]] }), /nested deeper/);
    });

    it("duplicate keys and tensors", async () => {
      await rejects(encodeGGUF({ metadata: [["a", entry.uint8(1)], ["a", entry.uint8(2)]] }), /duplicate metadata key "a"/);
      const tensor = sample.tensors![1]!;
      await rejects(encodeGGUF({ metadata: [], tensors: [tensor, tensor] }), /duplicate tensor/);
    });

    it("impossible tensors", async () => {
      const dims = endOf(valid, "token_embd.weight"); // n_dims, then the dims
      await rejects(patched((b) => b.writeUInt32LE(5, dims)), /5 dims/);
      await rejects(
        patched((b) => {
          b.writeBigUInt64LE(2n ** 40n, dims + 4);
          b.writeBigUInt64LE(2n ** 40n, dims + 12);
        }),
        /overflows/,
      );
      await rejects(patched((b) => b.writeBigUInt64LE(2n ** 64n - 1n, dims + 4)), /overflows/);
      await rejects(patched((b) => b.writeUInt32LE(4, dims + 20)), /unknown ggml type 4/);
      await rejects(patched((b) => b.writeBigUInt64LE(1024n * 1024n, dims + 24)), /past the end/);
      await rejects(patched((b) => b.writeBigUInt64LE(8n, dims + 24)), /not aligned/);
      const down = endOf(valid, "blk.0.ffn_down.weight");
      await rejects(patched((b) => b.writeBigUInt64LE(33n, down + 4)), /block size/);
    });

    it("a bad alignment", async () => {
      await rejects(encodeGGUF({ metadata: [["general.alignment", entry.uint32(24)]] }), /power-of-two/);
      await rejects(encodeGGUF({ metadata: [["general.alignment", entry.string("32")]] }), /power-of-two/);
    });

    it("huge strings in a huge file, without reading them", async () => {
      const path = join(dir, "sparse.gguf");
      const header = encodeGGUF({ metadata: [["big", entry.string("x")]] });
      header.writeBigUInt64LE(BigInt(2 ** 31), endOf(header, "big") + 4);
      await writeFile(path, header);
      await truncate(path, 2 ** 32); // sparse: no disk used
      await assert.rejects(readGGUF(path), /larger than any sane GGUF string/);
    });
  });

  it("reads every vocabulary file of the llama.cpp source tree", async (t) => {
    const models = join((await ensureLlamaCppSource()).dir, "models");
    const names = (await readdir(models)).filter((name) => name.endsWith(".gguf"));
    assert.ok(names.length > 10);
    for (const name of names) {
      const file = await readGGUF(join(models, name));
      const tokens = file.metadata.get("tokenizer.ggml.tokens")?.value as GGUFArray;
      assert.ok(tokens.items.length > 1000, name);
      assert.equal(file.tensors.length, 0);
      assert.equal(summarizeGGUF(file).hasTokenizer, true, name);
    }
    const start = performance.now();
    const qwen = await readGGUF(join(models, "ggml-vocab-qwen2.gguf"));
    t.diagnostic(`ggml-vocab-qwen2.gguf read in ${(performance.now() - start).toFixed(1)} ms`);
    const summary = summarizeGGUF(qwen);
    assert.equal(summary.architecture, "qwen2");
    assert.equal(summary.contextLength, 32768);
    assert.equal(summary.tokenizerModel, "gpt2");
    assert.equal((qwen.metadata.get("tokenizer.ggml.tokens")?.value as GGUFArray).items.length, 151936);
    assert.equal((qwen.metadata.get("tokenizer.ggml.merges")?.value as GGUFArray).items.length, 151387);
    assert.equal((qwen.metadata.get("tokenizer.ggml.tokens")?.value as GGUFArray).items[151644], "<|im_start|>");
    assert.equal(qwen.metadata.get("tokenizer.ggml.eos_token_id")?.value, 151643);
    const bert = summarizeGGUF(await readGGUF(join(models, "ggml-vocab-bert-bge.gguf")));
    assert.equal(bert.architecture, "bert");
    assert.equal(bert.tokenizerModel, "bert");
  });

  it("fuzz: every mutation of a valid file parses or throws GGUFParseError, quickly and in bounded memory", async (t) => {
    const valid = encodeGGUF(sample);
    const next = seededRandom(0x5eed);
    const int = (below: number) => Math.floor(next() * below);
    const huge = [2n ** 64n - 1n, 2n ** 63n, 2n ** 32n, 2n ** 31n - 1n, BigInt(valid.length), 0n, 1n];
    const mutations: ((bytes: Buffer) => Buffer)[] = [
      (bytes) => bytes.subarray(0, int(bytes.length)),
      (bytes) => {
        for (let i = 0, n = 1 + int(8); i < n; i++) bytes[int(bytes.length)] = int(256);
        return bytes;
      },
      (bytes) => {
        const at = int(bytes.length - 8);
        bytes.writeBigUInt64LE(huge[int(huge.length)]!, at);
        return bytes;
      },
      (bytes) => {
        bytes.writeUInt32LE(int(16), int(bytes.length - 4));
        return bytes;
      },
      (bytes) => {
        const at = int(bytes.length);
        return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1 + int(16))]);
      },
    ];
    const path = join(dir, "fuzz.gguf");
    const rssBefore = process.memoryUsage().rss;
    const deadline = performance.now() + 30_000;
    let iterations = 0;
    let parsed = 0;
    let slowest = 0;
    let maxRss = rssBefore;
    for (; iterations < 2000 && performance.now() < deadline; iterations++) {
      let bytes: Buffer = Buffer.from(valid);
      for (let i = 0, n = 1 + int(3); i < n; i++) bytes = mutations[int(mutations.length)]!(bytes);
      await writeFile(path, bytes);
      const start = performance.now();
      try {
        await readGGUF(path);
        parsed++;
      } catch (error) {
        if (!(error instanceof GGUFParseError)) {
          assert.fail(`iteration ${iterations}: ${error instanceof Error ? error.stack : String(error)}`);
        }
      }
      slowest = Math.max(slowest, performance.now() - start);
      if (iterations % 100 === 0) maxRss = Math.max(maxRss, process.memoryUsage().rss);
    }
    t.diagnostic(`${iterations} mutations, ${parsed} still parsed, slowest ${slowest.toFixed(1)} ms, rss +${((maxRss - rssBefore) / 2 ** 20).toFixed(1)} MiB`);
    assert.ok(iterations >= 500, `only ${iterations} iterations ran`);
    assert.ok(slowest < 1000, `one parse took ${slowest} ms`);
    assert.ok(maxRss - rssBefore < 128 * 2 ** 20, `rss grew by ${maxRss - rssBefore} bytes`);
  });
});
