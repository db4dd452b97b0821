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
  readonly messages?: readonly { readonly role: string; readonly content: string }[];
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
    contextSize: contextSizeOf(input.extras) ?? input.base?.facts.contextSize,
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

/**
 * Ollama's create rules (server/create.go): a given template or system prompt
 * replaces the base's (an empty system prompt removes it), parameters merge
 * key by key over the base's (a list replaces a list), messages replace the
 * base's unless none are given, licenses add to the base's.
 */
async function extraLayers(store: ModelStore, extras: ModelExtras, base: StoredModel | undefined): Promise<Descriptor[]> {
  const inherited = base?.parts;
  const text = (layer: Descriptor | undefined) => (layer ? store.readBlob(layer).then((bytes) => Buffer.from(bytes).toString("utf8")) : undefined);
  const parameters = extras.parameters && { ...(JSON.parse((await text(inherited?.params)) ?? "{}") as Record<string, unknown>), ...extras.parameters };
  const system = extras.system === undefined ? inherited?.system : extras.system === "" ? undefined : await storeText(store, extras.system, mediaTypes.ollamaSystem);
  const layers: (Descriptor | undefined)[] = [
    inherited?.projector,
    extras.template
      ? await storeText(store, extras.template.text, extras.template.syntax === "jinja" ? mediaTypes.dockerChatTemplate : mediaTypes.ollamaTemplate)
      : inherited?.template,
    system,
    parameters ? await storeText(store, JSON.stringify(sortedKeys(parameters)), mediaTypes.ollamaParams) : inherited?.params,
    extras.messages?.length ? await storeText(store, JSON.stringify(extras.messages), mediaTypes.ollamaMessages) : inherited?.messages,
  ];
  const added = await Promise.all((extras.licenses ?? []).map((license) => storeText(store, license, mediaTypes.ollamaLicense)));
  return [...layers.filter((layer) => layer !== undefined), ...(inherited?.licenses ?? []), ...added];
}

/** A Modelfile's `num_ctx` is the model's standing context size, recorded in its config too. */
function contextSizeOf(extras: ModelExtras | undefined): number | undefined {
  const numCtx = extras?.parameters?.num_ctx;
  return extras?.contextSize ?? (Number.isSafeInteger(numCtx) && (numCtx as number) > 0 ? (numCtx as number) : undefined);
}

/** Go writes a map's keys sorted: the same parameters make the same blob. */
function sortedKeys(record: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Small text blobs go through the same verified write as everything else. */
async function storeText(store: ModelStore, text: string, mediaType: string): Promise<Descriptor> {
  const bytes = Buffer.from(text, "utf8");
  const digest = sha256Digest(bytes);
  await store.receiveBlob(async () => ({ offset: 0, body: [bytes] }), { expected: { digest, size: bytes.byteLength } });
  return { mediaType, digest, size: bytes.byteLength };
}
