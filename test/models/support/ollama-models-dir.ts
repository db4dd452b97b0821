import { link, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { sha256Digest } from "../../../src/models/store/digest.ts";
import { encodeManifest } from "../../../src/models/store/manifest.ts";
import { mediaTypes } from "../../../src/models/store/media-types.ts";

export interface OllamaModelsDir {
  readonly manifestDigest: string;
  readonly weightsDigest: string;
}

/**
 * Writes an Ollama models directory into `dir` (`blobs/sha256-<hex>`, the
 * weights hard-linked from `weights`, and `manifests/<registry>/<namespace>/<model>/<tag>`):
 * `registry.ollama.ai/library/<model>:latest` and `hf.co/org/repo:Q4_K_M`,
 * both that one model, and `broken:latest`, a manifest that is not JSON.
 */
export async function writeOllamaModelsDir(dir: string, options: { weights: string; model: string; family: string }): Promise<OllamaModelsDir> {
  await mkdir(join(dir, "blobs"), { recursive: true });
  const blob = async (mediaType: string, bytes: Buffer, path?: string) => {
    const digest = sha256Digest(bytes);
    const target = join(dir, "blobs", `sha256-${digest.slice(7)}`);
    if (path) await link(path, target);
    else await writeFile(target, bytes);
    return { mediaType, digest, size: bytes.byteLength };
  };
  const model = await blob(mediaTypes.ollamaModel, await readFile(options.weights), options.weights);
  const template = await blob(mediaTypes.ollamaTemplate, Buffer.from("{{ .Prompt }}"));
  const configJson = JSON.stringify({ model_format: "gguf", model_family: options.family, file_type: "F16" });
  const config = await blob(mediaTypes.ollamaConfig, Buffer.from(configJson));
  const manifest = encodeManifest({ schemaVersion: 2, mediaType: mediaTypes.dockerManifest, config, layers: [model, template] });
  const write = async (path: string[], bytes: Uint8Array) => {
    await mkdir(join(dir, "manifests", ...path.slice(0, -1)), { recursive: true });
    await writeFile(join(dir, "manifests", ...path), bytes);
  };
  await write(["registry.ollama.ai", "library", options.model, "latest"], manifest.bytes);
  await write(["hf.co", "org", "repo", "Q4_K_M"], manifest.bytes);
  await write(["registry.ollama.ai", "library", "broken", "latest"], Buffer.from("{not json"));
  return { manifestDigest: manifest.digest, weightsDigest: model.digest };
}
