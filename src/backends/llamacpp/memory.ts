import type { RequiredMemory } from "../../inference/index.ts";
import type { GGUFModelInfo } from "../../models/gguf.ts";
import { draftGpuLayersFlags, gpuLayersFlags, lastFlagValue } from "./flag-values.ts";
import { kvCacheLayout } from "./slots.ts";

/** What llama-server's memory use depends on, from a GGUF file's summary. */
export interface ModelShape {
  readonly weightBytes: number;
  /** The token embedding table, which stays in host memory even on a GPU. */
  readonly tokenEmbeddingBytes: number;
  readonly layers: number;
  readonly embeddingLength: number;
  readonly feedForwardLength: number;
  readonly kvHeads: number;
  readonly keyLength: number;
  readonly valueLength: number;
  readonly vocabularySize: number;
  readonly trainedContext: number;
  /**
   * Whether the GGUF declares a pooling type (llama.cpp's -1 unspecified,
   * 0 none, 1 mean, 2 cls, 3 last, 4 rank): what marks an embedding or
   * reranking model.
   */
  readonly declaresPooling: boolean;
}

export function modelShape(info: GGUFModelInfo): ModelShape {
  const embeddingLength = info.embeddingLength ?? 0;
  const keyLength = info.keyLength ?? 0;
  return {
    weightBytes: info.tensorBytes,
    tokenEmbeddingBytes: info.tokenEmbeddingBytes ?? 0,
    layers: info.blockCount ?? 0,
    embeddingLength,
    feedForwardLength: info.feedForwardLength ?? 4 * embeddingLength,
    kvHeads: info.headCountKv ?? 0,
    keyLength,
    valueLength: info.valueLength ?? keyLength,
    vocabularySize: info.vocabularySize ?? 0,
    trainedContext: info.contextLength ?? defaultTrainedContext,
    declaresPooling: info.poolingType !== undefined && info.poolingType > 0,
  };
}

const MiB = 1024 * 1024;
const defaultTrainedContext = 4096;
const defaultMicroBatch = 512;

/**
 * Measured against peak RSS (VmHWM) of this binary on CPU: the process itself
 * (code, threads, server) about 12 MiB, and the tokenizer's tables about 360
 * bytes per vocabulary entry (52 MiB for a 152k-token BPE vocabulary).
 */
const processOverheadBytes = 12 * MiB;
const bytesPerVocabularyEntry = 360;

export interface MemoryEstimateInput {
  readonly model: ModelShape;
  readonly draft?: ModelShape;
  /** `context-size` from the configuration, each slot's; absent means the engine's default. */
  readonly contextSize?: number;
  /** The user's runtime flags: `--ctx-size`, `--parallel`, `--kv-unified` and `--fit` there win, as on the command line. */
  readonly runtimeFlags?: readonly string[];
  /** A GPU build: every layer offloaded (`-ngl 999`) unless the runtime flags say how many. */
  readonly gpu: boolean;
}

/**
 * Memory a llama-server runner will use at most: the weights (mmapped, all
 * touched by the first request), the f16 KV cache of every slot's context,
 * the compute buffer (activations of one 512-token micro-batch, plus the
 * flash attention mask, which grows with the cells a slot attends to), the
 * output buffer, and the process's own overhead. The output buffer holds one row of logits per
 * slot for a chat model, but one per token of a micro-batch for an
 * embedding model, which outputs every token (measured: 60 MiB for a 30k
 * vocabulary). A draft model adds its own weights, cache,
 * compute buffer and tokenizer. On a GPU build all of it but the process,
 * the token embeddings and the output buffer is VRAM, or the share of it
 * that `-ngl N` offloads (N of the model's layers).
 */
export function estimateLlamaServerMemory(input: MemoryEstimateInput): RequiredMemory {
  const flags = input.runtimeFlags ?? [];
  // The draft model runs with the target's context.
  const { slots, cells, streamCells } = kvCacheLayout(input.contextSize, flags, input.model.trainedContext);
  const microBatch = Math.min(defaultMicroBatch, cells);

  const shapes = input.draft
    ? [[input.model, gpuLayersFlags], [input.draft, draftGpuLayersFlags]] as const
    : [[input.model, gpuLayersFlags]] as const;
  const outputRows = input.model.declaresPooling ? microBatch : slots;
  let host = processOverheadBytes + outputRows * (input.model.vocabularySize + input.model.embeddingLength) * 4;
  let device = 0;
  for (const [shape, layerFlags] of shapes) {
    const kvCache = shape.layers * cells * shape.kvHeads * (shape.keyLength + shape.valueLength) * 2;
    const compute = microBatch * 4 * (3 * shape.feedForwardLength + 4 * shape.embeddingLength) + streamCells * microBatch * 2;
    const offloadable = shape.weightBytes - shape.tokenEmbeddingBytes + kvCache + compute;
    host += shape.vocabularySize * bytesPerVocabularyEntry + shape.tokenEmbeddingBytes;
    const onDevice = input.gpu ? offloadable * offloadedShare(lastFlagValue(flags, layerFlags), shape.layers) : 0;
    device += onDevice;
    host += offloadable - onDevice;
  }
  return { ram: Math.ceil(host), vram: Math.ceil(device) };
}

/** The share of a model's layers `-ngl` puts in VRAM: all by default, for `all`, `auto` and -1; else N of them. */
function offloadedShare(value: string | undefined, layers: number): number {
  const count = Number.parseInt(value ?? "", 10);
  if (!Number.isSafeInteger(count) || count < 0 || layers === 0) return 1;
  return Math.min(count, layers) / layers;
}
