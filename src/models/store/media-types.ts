/**
 * The media types of the two model artifact formats users meet, and what
 * each layer is for. Docker Model Runner's format is the one this store
 * writes; Ollama's is read (and pushed back) as it came.
 */

import type { ModelFormat } from "../../inference/model-format.ts";

export const mediaTypes = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",

  dockerModelConfig: "application/vnd.docker.ai.model.config.v0.1+json",
  dockerGGUF: "application/vnd.docker.ai.gguf.v3",
  dockerSafetensors: "application/vnd.docker.ai.safetensors",
  /**
   * One more file of a safetensors model's directory (config.json, tokenizer
   * files), named by its `org.cncf.model.filepath` annotation. modelgate's own:
   * Docker Model Runner packs these into one tar layer.
   */
  modelFile: "application/vnd.modelgate.model.file",
  dockerProjector: "application/vnd.docker.ai.mmproj",
  dockerChatTemplate: "application/vnd.docker.ai.chat.template.jinja",
  dockerLicense: "application/vnd.docker.ai.license",

  ollamaConfig: "application/vnd.docker.container.image.v1+json",
  ollamaModel: "application/vnd.ollama.image.model",
  ollamaProjector: "application/vnd.ollama.image.projector",
  ollamaTemplate: "application/vnd.ollama.image.template",
  ollamaParams: "application/vnd.ollama.image.params",
  ollamaSystem: "application/vnd.ollama.image.system",
  ollamaLicense: "application/vnd.ollama.image.license",
  ollamaMessages: "application/vnd.ollama.image.messages",
  ollamaAdapter: "application/vnd.ollama.image.adapter",
} as const;

/** What the manifests we accept may be; sent as `Accept` when pulling. */
export const manifestMediaTypes = [mediaTypes.ociManifest, mediaTypes.dockerManifest] as const;
export type ManifestMediaType = (typeof manifestMediaTypes)[number];

/** The annotation naming a layer's file inside the model's directory. */
export const filePathAnnotation = "org.cncf.model.filepath";

/** What a layer holds, whichever format named it. */
export type LayerRole = "weights" | "projector" | "template" | "params" | "system" | "license" | "messages" | "adapter" | "file";

const layerRoles: Readonly<Record<string, LayerRole>> = {
  [mediaTypes.dockerGGUF]: "weights",
  [mediaTypes.ollamaModel]: "weights",
  [mediaTypes.dockerSafetensors]: "weights",
  [mediaTypes.modelFile]: "file",
  [mediaTypes.dockerProjector]: "projector",
  [mediaTypes.ollamaProjector]: "projector",
  [mediaTypes.dockerChatTemplate]: "template",
  [mediaTypes.ollamaTemplate]: "template",
  [mediaTypes.ollamaParams]: "params",
  [mediaTypes.ollamaSystem]: "system",
  [mediaTypes.dockerLicense]: "license",
  [mediaTypes.ollamaLicense]: "license",
  [mediaTypes.ollamaMessages]: "messages",
  [mediaTypes.ollamaAdapter]: "adapter",
};

/** Layers of unknown types are kept but play no role. */
export function layerRole(mediaType: string): LayerRole | undefined {
  // Parameters such as `; name=…` do not change what the layer is.
  return layerRoles[mediaType.split(";")[0]!.trim()];
}

/** The format of a weights layer. */
export function weightsFormat(mediaType: string): ModelFormat {
  return mediaType.split(";")[0]!.trim() === mediaTypes.dockerSafetensors ? "safetensors" : "gguf";
}

/** Docker Model Runner's templates are Jinja (llama-server reads them); Ollama's are Go templates. */
export function templateSyntax(mediaType: string): "jinja" | "go" {
  return mediaType.startsWith(mediaTypes.dockerChatTemplate) ? "jinja" : "go";
}
