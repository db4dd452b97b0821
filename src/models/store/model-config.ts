/**
 * Model configs: Docker Model Runner's (`application/vnd.docker.ai.model.config.v0.1+json`),
 * which this store writes for models it builds, and Ollama's, which it reads.
 * Both come down to the same few facts.
 */
import * as v from "valibot";
import type { GGUFFile, GGUFModelInfo } from "../gguf.ts";
import type { Sha256Digest } from "./digest.ts";
import { mediaTypes } from "./media-types.ts";
import { parseJson } from "./manifest.ts";

/** What a model's config says about it, whichever format. */
export interface ModelFacts {
  readonly format?: string;
  readonly quantization?: string;
  /** Human, as the formats write it: `24.6M`, `8B`. */
  readonly parameters?: string;
  readonly architecture?: string;
  readonly contextSize?: number;
  readonly created?: Date;
}

const DockerModelConfigSchema = v.object({
  config: v.looseObject({
    format: v.optional(v.string()),
    quantization: v.optional(v.string()),
    parameters: v.optional(v.string()),
    architecture: v.optional(v.string()),
    size: v.optional(v.string()),
    gguf: v.optional(v.record(v.string(), v.string())),
    context_size: v.optional(v.nullable(v.pipe(v.number(), v.integer(), v.minValue(0)))),
  }),
  descriptor: v.optional(v.looseObject({ created: v.optional(v.string()) })),
  rootfs: v.optional(v.looseObject({ type: v.string(), diff_ids: v.array(v.string()) })),
});

const OllamaModelConfigSchema = v.looseObject({
  model_format: v.optional(v.string()),
  model_family: v.optional(v.string()),
  model_type: v.optional(v.string()),
  file_type: v.optional(v.string()),
});

export type DockerModelConfig = v.InferOutput<typeof DockerModelConfigSchema>;

/** Reads a config blob; configs of other types carry no facts. */
export function readModelFacts(mediaType: string, bytes: Uint8Array): ModelFacts {
  if (mediaType === mediaTypes.dockerModelConfig) {
    const { config, descriptor } = parseJson(bytes, DockerModelConfigSchema, "model config");
    return {
      format: config.format,
      quantization: config.quantization,
      parameters: config.parameters,
      architecture: config.architecture,
      contextSize: config.context_size ?? undefined,
      created: parseDate(descriptor?.created),
    };
  }
  if (mediaType === mediaTypes.ollamaConfig) {
    const config = parseJson(bytes, OllamaModelConfigSchema, "model config");
    return {
      format: config.model_format,
      quantization: config.file_type,
      parameters: config.model_type,
      architecture: config.model_family,
    };
  }
  return {};
}

export interface DockerConfigInput {
  readonly gguf: GGUFFile;
  readonly summary: GGUFModelInfo;
  /** Every layer's digest, in manifest order (the config's `rootfs.diff_ids`). */
  readonly layers: readonly Sha256Digest[];
  /** Bytes of all layers. */
  readonly size: number;
  readonly contextSize?: number;
}

/** Scalar metadata longer than this (chat templates) stays in the file, out of the config. */
const maxMetadataValueLength = 1024;

/**
 * Docker Model Runner's config for a GGUF model, with the header's scalar
 * metadata in `gguf`. No creation time: the same file imported twice is the
 * same model (one ID, shared blobs); when it was tagged lives in the index.
 */
export function buildDockerModelConfig(input: DockerConfigInput): DockerModelConfig {
  const gguf: Record<string, string> = {};
  for (const [key, entry] of input.gguf.metadata) {
    const value = entry.value;
    if (typeof value === "object") continue; // arrays (vocabularies) are far too large
    const text = String(value);
    if (text.length <= maxMetadataValueLength) gguf[key] = text;
  }
  return {
    config: {
      format: "gguf",
      quantization: input.summary.quantization,
      parameters: formatCount(input.summary.parameterCount),
      architecture: input.summary.architecture,
      size: formatBytes(input.size),
      gguf,
      ...(input.contextSize ? { context_size: input.contextSize } : {}),
    },
    rootfs: { type: "rootfs", diff_ids: [...input.layers] },
  };
}

export interface SafetensorsConfigInput {
  readonly summary: GGUFModelInfo;
  /** Every layer's digest, in manifest order. */
  readonly layers: readonly Sha256Digest[];
  readonly size: number;
}

/** Docker Model Runner's config for a safetensors model: the same facts, from config.json and the tensor headers. */
export function buildSafetensorsModelConfig(input: SafetensorsConfigInput): DockerModelConfig {
  return {
    config: {
      format: "safetensors",
      quantization: input.summary.quantization,
      parameters: formatCount(input.summary.parameterCount),
      architecture: input.summary.architecture,
      size: formatBytes(input.size),
    },
    rootfs: { type: "rootfs", diff_ids: [...input.layers] },
  };
}

/** `24.6M`, `8.03B`: how model cards and both formats write parameter counts. */
export function formatCount(count: number): string {
  const units: [number, string][] = [
    [1e12, "T"],
    [1e9, "B"],
    [1e6, "M"],
    [1e3, "K"],
  ];
  for (const [scale, unit] of units) {
    if (count >= scale) return `${Number((count / scale).toPrecision(3))}${unit}`;
  }
  return String(count);
}

function formatBytes(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${Number(value.toPrecision(3))}${units[unit]}`;
}

function parseDate(text: string | undefined): Date | undefined {
  if (!text) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
