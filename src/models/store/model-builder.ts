/**
 * Builds a model in Docker Model Runner's format from blobs already in the
 * store: GGUF weights, then the text layers (template, system prompt,
 * parameters, license), a config drawn from the GGUF header, the manifest,
 * and finally the tags. Local imports, `/api/create` and Hugging Face pulls
 * all end here; safetensors directories (for vLLM) too, with their files as
 * layers of their own.
 */
import { readGGUF, summarizeGGUF } from "../gguf.ts";
import type { NamedReference } from "../reference.ts";
import type { StoredBlob } from "./blob-writer.ts";
import { sha256Digest } from "./digest.ts";
import { encodeManifest, type Descriptor } from "./manifest.ts";
import { filePathAnnotation, mediaTypes } from "./media-types.ts";
import { buildDockerModelConfig, buildSafetensorsModelConfig } from "./model-config.ts";
import { modelParts } from "./model-parts.ts";
import { summarizeStoredSafetensors } from "./safetensors-bundle.ts";
import type { ModelStore, StoredModel } from "./model-store.ts";

/** What a model says besides its weights. A field left out keeps the base model's layer. */
export interface ModelExtras {
  /** Jinja for llama-server; Go templates come from Ollama clients and stay theirs. */
  readonly template?: { readonly text: string; readonly syntax: "jinja" | "go" };
  readonly system?: string;
  /** Ollama's runtime parameters (`{"stop": [...], "temperature": 0.7}`). */
  readonly parameters?: Readonly<Record<string, unknown>>;
  readonly licenses?: readonly string[];
  readonly messages?: readonly unknown[];
  readonly contextSize?: number;
}

export interface BuildModelInput {
  /** GGUF blobs already in the store: the model first, then shards in order. */
  readonly weights: readonly [StoredBlob, ...StoredBlob[]];
  readonly extras?: ModelExtras;
  /** A model whose extra layers are inherited (Ollama's `FROM existing`). */
  readonly base?: StoredModel;
  readonly tags: readonly NamedReference[];
}

/**
 * @throws GGUFParseError when the first weights blob is not GGUF (nothing is tagged)
 */
export async function buildModel(store: ModelStore, input: BuildModelInput): Promise<StoredModel> {
  const gguf = await readGGUF(store.blobPath(input.weights[0].digest));
  const weights: Descriptor[] = input.weights.map((blob) => ({ mediaType: mediaTypes.dockerGGUF, digest: blob.digest, size: blob.size }));
  const extras = await extraLayers(store, input.extras ?? {}, input.base);
  const layers = [...weights, ...extras];
  const config = buildDockerModelConfig({
    gguf,
    summary: summarizeGGUF(gguf),
    layers: layers.map((layer) => layer.digest),
    size: layers.reduce((sum, layer) => sum + layer.size, 0),
    contextSize: input.extras?.contextSize ?? input.base?.facts.contextSize,
  });
  const configLayer = await storeText(store, JSON.stringify(config), mediaTypes.dockerModelConfig);
  const manifest = encodeManifest({ schemaVersion: 2, mediaType: mediaTypes.ociManifest, config: configLayer, layers });
  return store.commit(manifest, input.tags);
}

export interface BuildSafetensorsModelInput {
  /** A Hugging Face model directory's files, already in the store, by file name. */
  readonly files: ReadonlyMap<string, StoredBlob>;
  readonly tags: readonly NamedReference[];
}

/**
 * @throws InvalidManifestError (no config.json, names that are not plain file
 *   names), SafetensorsParseError (weights that are not safetensors); nothing is tagged
 */
export async function buildSafetensorsModel(store: ModelStore, input: BuildSafetensorsModelInput): Promise<StoredModel> {
  const layer = (name: string, blob: StoredBlob, mediaType: string): Descriptor => ({
    mediaType,
    digest: blob.digest,
    size: blob.size,
    annotations: { [filePathAnnotation]: name },
  });
  const names = [...input.files.keys()].sort();
  const isWeights = (name: string) => name.endsWith(".safetensors");
  const layers = [
    ...names.filter(isWeights).map((name) => layer(name, input.files.get(name)!, mediaTypes.dockerSafetensors)),
    ...names.filter((name) => !isWeights(name)).map((name) => layer(name, input.files.get(name)!, mediaTypes.modelFile)),
  ];
  const parts = modelParts({ schemaVersion: 2, config: layers[0]!, layers });
  const summary = await summarizeStoredSafetensors(store.layout, parts, (descriptor) => store.readBlob(descriptor));
  const config = buildSafetensorsModelConfig({ summary, layers: layers.map((item) => item.digest), size: layers.reduce((sum, item) => sum + item.size, 0) });
  const configLayer = await storeText(store, JSON.stringify(config), mediaTypes.dockerModelConfig);
  return store.commit(encodeManifest({ schemaVersion: 2, mediaType: mediaTypes.ociManifest, config: configLayer, layers }), input.tags);
}

async function extraLayers(store: ModelStore, extras: ModelExtras, base: StoredModel | undefined): Promise<Descriptor[]> {
  const inherited = base?.parts;
  const layers: (Descriptor | undefined)[] = [
    inherited?.projector,
    extras.template
      ? await storeText(store, extras.template.text, extras.template.syntax === "jinja" ? mediaTypes.dockerChatTemplate : mediaTypes.ollamaTemplate)
      : inherited?.template,
    extras.system !== undefined ? await storeText(store, extras.system, mediaTypes.ollamaSystem) : inherited?.system,
    extras.parameters ? await storeText(store, JSON.stringify(extras.parameters), mediaTypes.ollamaParams) : inherited?.params,
    extras.messages ? await storeText(store, JSON.stringify(extras.messages), mediaTypes.ollamaMessages) : inherited?.messages,
  ];
  const licenses = extras.licenses
    ? await Promise.all(extras.licenses.map((text) => storeText(store, text, mediaTypes.dockerLicense)))
    : (inherited?.licenses ?? []);
  return [...layers.filter((layer) => layer !== undefined), ...licenses];
}

/** Small text blobs go through the same verified write as everything else. */
async function storeText(store: ModelStore, text: string, mediaType: string): Promise<Descriptor> {
  const bytes = Buffer.from(text, "utf8");
  const digest = sha256Digest(bytes);
  await store.receiveBlob(async () => ({ offset: 0, body: [bytes] }), { expected: { digest, size: bytes.byteLength } });
  return { mediaType, digest, size: bytes.byteLength };
}
