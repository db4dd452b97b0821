/**
 * Models in Ollama's own layout, written into a registry by hand with the
 * registry's API (no project code involved), as `ollama push` leaves them on
 * registry.ollama.ai: a Docker v2 manifest whose config is
 * `application/vnd.docker.container.image.v1+json` and whose layers are the
 * GGUF weights and the Modelfile's parts (`application/vnd.ollama.image.*`).
 * Built here rather than by the gateway so tests meet what Ollama's registry
 * serves, not what modelgate would push.
 */
import { createHash } from "node:crypto";

/** One blob of a manifest: a layer, or the config. */
export interface Blob {
  readonly mediaType: string;
  readonly bytes: Uint8Array;
}

export interface OllamaLayoutModel {
  readonly weights: Uint8Array;
  /** A Go template, as Ollama's `TEMPLATE`. */
  readonly template?: string;
  /** Ollama's params layer: the Modelfile's `PARAMETER`s as one JSON object. */
  readonly params?: Record<string, unknown>;
  readonly system?: string;
}

const digestOf = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
const text = (value: string) => new TextEncoder().encode(value);

/** The config Ollama writes for a GGUF model. */
export function ollamaConfig(layers: readonly Blob[] = []): Blob {
  const config = {
    model_format: "gguf",
    model_family: "llama",
    model_families: ["llama"],
    model_type: "tiny",
    file_type: "F16",
    architecture: "amd64",
    os: "linux",
    rootfs: { type: "layers", diff_ids: layers.map((layer) => digestOf(layer.bytes)) },
  };
  return { mediaType: "application/vnd.docker.container.image.v1+json", bytes: text(JSON.stringify(config)) };
}

/** Pushes the model's weights and Modelfile parts to `<registry>/<repository>:<tag>`; returns the manifest's digest. */
export async function pushOllamaLayoutModel(registryUrl: string, repository: string, tag: string, model: OllamaLayoutModel): Promise<string> {
  const layers: Blob[] = [{ mediaType: "application/vnd.ollama.image.model", bytes: model.weights }];
  if (model.template !== undefined) layers.push({ mediaType: "application/vnd.ollama.image.template", bytes: text(model.template) });
  if (model.system !== undefined) layers.push({ mediaType: "application/vnd.ollama.image.system", bytes: text(model.system) });
  if (model.params !== undefined) layers.push({ mediaType: "application/vnd.ollama.image.params", bytes: text(JSON.stringify(model.params)) });
  return pushManifest(registryUrl, repository, tag, ollamaConfig(layers), layers);
}

/** Uploads the config and each layer, then PUTs their manifest under `tag`; returns the manifest's digest. */
export async function pushManifest(registryUrl: string, repository: string, tag: string, config: Blob, layers: readonly Blob[]): Promise<string> {
  const descriptor = async (blob: Blob) => ({ mediaType: blob.mediaType, ...(await uploadBlob(registryUrl, repository, blob.bytes)) });
  const layerDescriptors = [];
  for (const layer of layers) layerDescriptors.push(await descriptor(layer));
  const manifest = text(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.docker.distribution.manifest.v2+json",
      config: await descriptor(config),
      layers: layerDescriptors,
    }),
  );
  const put = await fetch(`${registryUrl}/v2/${repository}/manifests/${tag}`, {
    method: "PUT",
    headers: { "content-type": "application/vnd.docker.distribution.manifest.v2+json" },
    body: manifest,
  });
  if (put.status !== 201) throw new Error(`manifest PUT answered ${put.status}: ${await put.text()}`);
  return digestOf(manifest);
}

/** The registry API's monolithic upload: POST for a session, PUT the bytes with their digest. */
async function uploadBlob(registryUrl: string, repository: string, bytes: Uint8Array): Promise<{ digest: string; size: number }> {
  const digest = digestOf(bytes);
  const session = await fetch(`${registryUrl}/v2/${repository}/blobs/uploads/`, { method: "POST" });
  await session.body?.cancel();
  const location = session.headers.get("location");
  if (session.status !== 202 || !location) throw new Error(`upload session answered ${session.status}`);
  const target = new URL(location, registryUrl);
  target.searchParams.set("digest", digest);
  const put = await fetch(target, { method: "PUT", headers: { "content-type": "application/octet-stream" }, body: bytes });
  const answer = await put.text();
  if (put.status !== 201) throw new Error(`blob PUT answered ${put.status}: ${answer}`);
  return { digest, size: bytes.byteLength };
}
