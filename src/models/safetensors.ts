/**
 * Hugging Face model directories, as vLLM loads them: `config.json`, the
 * weights in `*.safetensors` files, tokenizer files. Only headers and small
 * JSON files are read, never the tensors.
 */
import { open } from "node:fs/promises";
import * as v from "valibot";
import type { GGUFModelInfo } from "./gguf.ts";
import { parseJson } from "./store/manifest.ts";

/** A safetensors file or a model's config could not be read. Maps to a 400. */
export class SafetensorsParseError extends Error {
  override readonly name = "SafetensorsParseError";
}

/** The format's own limit on the JSON header (100 MB); a header is metadata, never weights. */
const maxHeaderBytes = 100_000_000;

const TensorSchema = v.object({
  dtype: v.pipe(v.string(), v.regex(/^[A-Z0-9_]{1,16}$/)),
  shape: v.array(v.pipe(v.number(), v.integer(), v.minValue(0))),
  data_offsets: v.tuple([v.pipe(v.number(), v.integer(), v.minValue(0)), v.pipe(v.number(), v.integer(), v.minValue(0))]),
});

type Tensor = v.InferOutput<typeof TensorSchema>;

/** What a safetensors file's header says, summed over its tensors. */
export interface SafetensorsHeader {
  readonly parameterCount: number;
  /** Bytes of tensor data per dtype (`BF16`, `F32`…). */
  readonly bytesByDtype: ReadonlyMap<string, number>;
}

/**
 * Reads the header of a safetensors file: an 8-byte little-endian length,
 * then that many bytes of JSON naming each tensor's dtype, shape and place.
 *
 * @throws SafetensorsParseError when the file is not safetensors, or its header does not fit the file
 */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  const file = await open(path, "r");
  try {
    const { size } = await file.stat();
    const prefix = Buffer.alloc(8);
    if (size < 8 || (await file.read(prefix, 0, 8, 0)).bytesRead < 8) throw new SafetensorsParseError("not a safetensors file: too short");
    const length = Number(prefix.readBigUInt64LE(0));
    if (length < 2 || length > maxHeaderBytes || 8 + length > size) throw new SafetensorsParseError(`not a safetensors file: header length ${length} does not fit`);
    const header = Buffer.alloc(length);
    await file.read(header, 0, length, 8);
    const tensors = parseHeader(header);
    const dataBytes = size - 8 - length;
    let parameterCount = 0;
    const bytesByDtype = new Map<string, number>();
    for (const [name, tensor] of tensors) {
      const [start, end] = tensor.data_offsets;
      if (start > end || end > dataBytes) throw new SafetensorsParseError(`tensor ${name} lies outside the file`);
      parameterCount += tensor.shape.reduce((product, dim) => product * dim, 1);
      bytesByDtype.set(tensor.dtype, (bytesByDtype.get(tensor.dtype) ?? 0) + end - start);
    }
    return { parameterCount, bytesByDtype };
  } finally {
    await file.close();
  }
}

function parseHeader(bytes: Buffer): [string, Tensor][] {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString("utf8"));
  } catch (error) {
    throw new SafetensorsParseError(`not a safetensors file: header is not JSON (${(error as Error).message})`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new SafetensorsParseError("not a safetensors file: header is not an object");
  return Object.entries(json)
    .filter(([name]) => name !== "__metadata__")
    .map(([name, value]) => {
      const result = v.safeParse(TensorSchema, value);
      if (!result.success) throw new SafetensorsParseError(`tensor ${name}: ${result.issues[0].message}`);
      return [name, result.output];
    });
}

const positive = v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)));

/** The fields of a Hugging Face `config.json` that describe the model to users and schedulers. */
const HFConfigSchema = v.looseObject({
  model_type: v.optional(v.string()),
  architectures: v.optional(v.array(v.string())),
  max_position_embeddings: positive,
  hidden_size: positive,
  num_hidden_layers: positive,
  num_attention_heads: positive,
  num_key_value_heads: positive,
  sliding_window: v.optional(v.nullable(v.number())),
});

const TokenizerConfigSchema = v.looseObject({ chat_template: v.optional(v.unknown()) });

export interface SafetensorsModelInput {
  /** `config.json`'s bytes. */
  readonly config: Uint8Array;
  /** `tokenizer_config.json`'s bytes, when the model has one. */
  readonly tokenizerConfig?: Uint8Array;
  readonly headers: readonly SafetensorsHeader[];
  readonly hasTokenizer: boolean;
  /** Bytes of every file. */
  readonly size: number;
}

/**
 * The same summary a GGUF header gives, drawn from `config.json`, the
 * tokenizer config and the tensor headers, so `/api/show`, `/api/tags` and
 * the capabilities read both formats alike.
 *
 * @throws InvalidManifestError when config.json is not a JSON object of the expected shape
 */
export function summarizeSafetensors(input: SafetensorsModelInput): GGUFModelInfo {
  const config = parseJson(input.config, HFConfigSchema, "config.json");
  const tokenizer = input.tokenizerConfig ? parseJson(input.tokenizerConfig, TokenizerConfigSchema, "tokenizer_config.json") : undefined;
  const bytesByDtype = new Map<string, number>();
  for (const header of input.headers) {
    for (const [dtype, bytes] of header.bytesByDtype) bytesByDtype.set(dtype, (bytesByDtype.get(dtype) ?? 0) + bytes);
  }
  const [dominant] = [...bytesByDtype].reduce((best, entry) => (entry[1] > best[1] ? entry : best), ["unknown", -1]);
  const tensorBytes = [...bytesByDtype.values()].reduce((sum, bytes) => sum + bytes, 0);
  const chatTemplate = typeof tokenizer?.chat_template === "string" ? tokenizer.chat_template : undefined;
  return {
    architecture: config.model_type ?? config.architectures?.[0] ?? "unknown",
    parameterCount: input.headers.reduce((sum, header) => sum + header.parameterCount, 0),
    quantization: dominant,
    ...(config.max_position_embeddings === undefined ? {} : { contextLength: config.max_position_embeddings }),
    ...(config.hidden_size === undefined ? {} : { embeddingLength: config.hidden_size }),
    ...(config.num_hidden_layers === undefined ? {} : { blockCount: config.num_hidden_layers }),
    ...(config.num_attention_heads === undefined ? {} : { headCount: config.num_attention_heads }),
    ...(config.num_key_value_heads === undefined ? {} : { headCountKv: config.num_key_value_heads }),
    ...(typeof config.sliding_window === "number" ? { slidingWindow: config.sliding_window } : {}),
    ...(chatTemplate === undefined ? {} : { chatTemplate }),
    hasTokenizer: input.hasTokenizer,
    tensorBytes,
    fileSize: input.size,
  };
}
