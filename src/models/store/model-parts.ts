import { layerRole, type LayerRole } from "./media-types.ts";
import type { Descriptor, Manifest } from "./manifest.ts";

/** A model's layers by what they are for. */
export interface ModelParts {
  /** GGUF files: the model, then its shards in order. */
  readonly weights: readonly [Descriptor, ...Descriptor[]];
  readonly projector?: Descriptor;
  readonly template?: Descriptor;
  readonly params?: Descriptor;
  readonly system?: Descriptor;
  readonly messages?: Descriptor;
  readonly licenses: readonly Descriptor[];
}

/** A manifest that names no GGUF weights describes nothing this gateway can run. */
export class NoWeightsError extends Error {
  override readonly name = "NoWeightsError";
  constructor() {
    super("the model has no GGUF layer (application/vnd.docker.ai.gguf.v3 or application/vnd.ollama.image.model)");
  }
}

/**
 * Sorts a manifest's layers by role; where a format repeats a single-valued
 * layer (Ollama appends a new template on top of an inherited one), the last
 * one wins.
 *
 * @throws NoWeightsError
 */
export function modelParts(manifest: Manifest): ModelParts {
  const byRole = new Map<LayerRole, Descriptor[]>();
  for (const layer of manifest.layers) {
    const role = layerRole(layer.mediaType);
    if (role) byRole.set(role, [...(byRole.get(role) ?? []), layer]);
  }
  const [first, ...shards] = byRole.get("weights") ?? [];
  if (!first) throw new NoWeightsError();
  const last = (role: LayerRole) => byRole.get(role)?.at(-1);
  const parts = {
    projector: last("projector"),
    template: last("template"),
    params: last("params"),
    system: last("system"),
    messages: last("messages"),
  };
  return {
    weights: [first, ...shards],
    ...Object.fromEntries(Object.entries(parts).filter(([, layer]) => layer !== undefined)),
    licenses: byRole.get("license") ?? [],
  };
}
