/**
 * The models contract served by the store: a model's layers read once per
 * manifest (content-addressed: what an ID names never changes), found
 * through the store's resolution, which is kept while the index is the same.
 */
import type { ModelLayers, Models } from "./models.ts";
import { ModelNotFoundError } from "./model-resolver.ts";
import { InvalidReferenceError } from "./reference.ts";
import type { Descriptor } from "./store/manifest.ts";
import { templateSyntax } from "./store/media-types.ts";
import type { ModelStore, StoredModel } from "./store/model-store.ts";

/** Models whose layers are kept; past it, they are read again. */
const maxKeptModels = 256;

/**
 * @example
 * const models = createStoredModels(store);
 * await models.layers("tiny"); // { id: "sha256:…", system: "…", parameters: { num_ctx: 2048 }, … }
 */
export function createStoredModels(store: ModelStore): Models {
  const layersById = new Map<string, Promise<ModelLayers>>();
  return {
    async layers(reference) {
      let id: string;
      try {
        ({ id } = await store.resolve(reference));
      } catch (error) {
        // Not in the store: the engines layer has its say (an external engine's model, or none).
        if (error instanceof ModelNotFoundError || error instanceof InvalidReferenceError) return undefined;
        throw error;
      }
      let layers = layersById.get(id);
      if (!layers) {
        if (layersById.size >= maxKeptModels) layersById.clear();
        layers = store.find(id).then((model) => storedLayers(store, model));
        layers.catch(() => layersById.delete(id));
        layersById.set(id, layers);
      }
      return layers;
    },
  };
}

/** What a stored model's text layers say, and whether its GGUF has a chat template. */
export async function storedLayers(store: ModelStore, model: StoredModel): Promise<ModelLayers> {
  const text = (layer: Descriptor | undefined) => (layer ? layerText(store, layer) : undefined);
  const { parts } = model;
  const [template, system, parameters, messages] = await Promise.all([
    text(parts.template),
    text(parts.system),
    json<Record<string, unknown>>(text(parts.params)),
    json<{ role: string; content: string }[]>(text(parts.messages)),
  ]);
  const summary = parts.format === "gguf" ? await store.summary(parts.weights[0].digest) : undefined;
  return {
    id: model.id,
    template,
    template_format: parts.template ? templateSyntax(parts.template.mediaType) : undefined,
    chat_template: summary?.chatTemplate !== undefined,
    system,
    parameters,
    messages,
  };
}

/** Text layers are content-addressed: each is read once. */
const textLayers = new Map<string, Promise<string>>();
const maxKeptTextLayers = 256;

export function layerText(store: ModelStore, layer: Descriptor): Promise<string> {
  let text = textLayers.get(layer.digest);
  if (!text) {
    if (textLayers.size >= maxKeptTextLayers) textLayers.clear();
    text = store.readBlob(layer).then((bytes) => new TextDecoder().decode(bytes));
    text.catch(() => textLayers.delete(layer.digest));
    textLayers.set(layer.digest, text);
  }
  return text;
}

async function json<T>(text: Promise<string> | undefined): Promise<T | undefined> {
  return text && (JSON.parse(await text) as T);
}
