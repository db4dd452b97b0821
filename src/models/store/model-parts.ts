import type { ModelFormat } from "../../inference/model-format.ts";
import { filePathAnnotation, layerRole, weightsFormat, type LayerRole } from "./media-types.ts";
import { InvalidManifestError, type Descriptor, type Manifest } from "./manifest.ts";

/** A model's layers by what they are for. */
export interface ModelParts {
  readonly format: ModelFormat;
  /** GGUF: the model, then its shards in order. Safetensors: every weights file. */
  readonly weights: readonly [Descriptor, ...Descriptor[]];
  /** Safetensors: the directory's other files (config.json, tokenizer), each named by its annotation. */
  readonly files: readonly Descriptor[];
  readonly projector?: Descriptor;
  readonly template?: Descriptor;
  readonly params?: Descriptor;
  readonly system?: Descriptor;
  readonly messages?: Descriptor;
  readonly licenses: readonly Descriptor[];
}

/** A manifest that names no weights describes nothing this gateway can run. */
export class NoWeightsError extends Error {
  override readonly name = "NoWeightsError";
  constructor() {
    super("the model has no GGUF layer (application/vnd.docker.ai.gguf.v3 or application/vnd.ollama.image.model) and no safetensors layer (application/vnd.docker.ai.safetensors)");
  }
}

/**
 * A file's path in a model's directory: a plain name, or one folder and a
 * name (sentence-transformers keep their pooling in `1_Pooling/config.json`,
 * which vLLM reads through `modules.json`). No segment starts with a dot, so
 * none is `.` or `..`, and none is empty.
 */
const safeFilePath = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}(?:\/[A-Za-z0-9_][A-Za-z0-9._-]{0,254})?$/;

/** The path a safetensors model's layer has in its directory, checked to be a file or one folder deep. */
export function layerFileName(layer: Descriptor): string {
  const name = layer.annotations?.[filePathAnnotation];
  if (name === undefined || !safeFilePath.test(name)) {
    throw new InvalidManifestError(
      `layer ${layer.digest} needs a plain file name, or one folder and a name, in ${filePathAnnotation}, not ${JSON.stringify(name ?? null)}`,
    );
  }
  return name;
}

/**
 * Sorts a manifest's layers by role; where a format repeats a single-valued
 * layer (Ollama appends a new template on top of an inherited one), the last
 * one wins. A safetensors model must name its files and include config.json.
 *
 * @throws NoWeightsError
 * @throws InvalidManifestError for mixed formats or a safetensors directory vLLM could not load
 */
export function modelParts(manifest: Manifest): ModelParts {
  const byRole = new Map<LayerRole, Descriptor[]>();
  for (const layer of manifest.layers) {
    const role = layerRole(layer.mediaType);
    if (role) byRole.set(role, [...(byRole.get(role) ?? []), layer]);
  }
  const [first, ...shards] = byRole.get("weights") ?? [];
  if (!first) throw new NoWeightsError();
  // Running the base without its adapter would answer as another model: refused rather than dropped.
  if (byRole.has("adapter")) throw new InvalidManifestError("LoRA adapters (application/vnd.ollama.image.adapter) are not supported");
  const format = weightsFormat(first.mediaType);
  if (shards.some((layer) => weightsFormat(layer.mediaType) !== format)) throw new InvalidManifestError("a model's weights are GGUF or safetensors, not both");
  const files = byRole.get("file") ?? [];
  if (format === "safetensors") {
    const names = [first, ...shards, ...files].map(layerFileName);
    if (!names.includes("config.json")) throw new InvalidManifestError("a safetensors model needs a config.json layer");
    if (new Set(names).size !== names.length) throw new InvalidManifestError("a safetensors model names each file once");
    const folders = new Set(names.flatMap((name) => (name.includes("/") ? [name.slice(0, name.indexOf("/"))] : [])));
    const clash = names.find((name) => folders.has(name));
    if (clash) throw new InvalidManifestError(`a safetensors model cannot have both a file and a folder named ${clash}`);
  }
  const last = (role: LayerRole) => byRole.get(role)?.at(-1);
  const parts = {
    projector: last("projector"),
    template: last("template"),
    params: last("params"),
    system: last("system"),
    messages: last("messages"),
  };
  return {
    format,
    weights: [first, ...shards],
    files,
    ...Object.fromEntries(Object.entries(parts).filter(([, layer]) => layer !== undefined)),
    licenses: byRole.get("license") ?? [],
  };
}
