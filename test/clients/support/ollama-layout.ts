/**
 * An Ollama-layout model written into a registry by hand, layer by layer, as
 * `ollama push` leaves it on registry.ollama.ai: a Docker v2 manifest whose
 * config is `application/vnd.docker.container.image.v1+json` and whose layers
 * are the GGUF weights and the Modelfile's template, params and system text.
 * Built here rather than by the gateway so the replays meet what Ollama's
 * own registry serves, not what modelgate would push.
 */
import { createHash } from "node:crypto";

export interface OllamaLayoutModel {
  readonly weights: Uint8Array;
  /** A Go template, as Ollama's `TEMPLATE`. */
  readonly template?: string;
  /** Ollama's params layer: the Modelfile's `PARAMETER`s as one JSON object. */
  readonly params?: Record<string, unknown>;
  readonly system?: string;
}

interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
}

const digestOf = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

/** Pushes the model to `<registry>/<repository>:<tag>` and returns the manifest's digest. */
export async function pushOllamaLayoutModel(registryUrl: string, repository: string, tag: string, model: OllamaLayoutModel): Promise<string> {
  const text = (value: string) => new TextEncoder().encode(value);
  const layers: [string, Uint8Array][] = [["application/vnd.ollama.image.model", model.weights]];
  if (model.template !== undefined) layers.push(["application/vnd.ollama.image.template", text(model.template)]);
  if (model.system !== undefined) layers.push(["application/vnd.ollama.image.system", text(model.system)]);
  if (model.params !== undefined) layers.push(["application/vnd.ollama.image.params", text(JSON.stringify(model.params))]);

  const descriptors: Descriptor[] = [];
  for (const [mediaType, bytes] of layers) descriptors.push({ mediaType, ...(await uploadBlob(registryUrl, repository, bytes)) });
  const config = text(
    JSON.stringify({
      model_format: "gguf",
      model_family: "llama",
      model_families: ["llama"],
      model_type: "tiny",
      file_type: "F16",
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: descriptors.map((layer) => layer.digest) },
    }),
  );
  const configDescriptor = { mediaType: "application/vnd.docker.container.image.v1+json", ...(await uploadBlob(registryUrl, repository, config)) };
  const manifest = text(
    JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.docker.distribution.manifest.v2+json", config: configDescriptor, layers: descriptors }),
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
  await put.body?.cancel();
  if (put.status !== 201) throw new Error(`blob PUT answered ${put.status}`);
  return { digest, size: bytes.byteLength };
}
