/**
 * Safetensors models in the store: their summary, and the directory vLLM
 * loads, made of links to the blobs under the names the manifest gives.
 */
import { mkdir, rename, rm, stat, symlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { randomUUID } from "node:crypto";
import type { GGUFModelInfo } from "../gguf.ts";
import { readSafetensorsHeader, summarizeSafetensors } from "../safetensors.ts";
import type { Sha256Digest } from "./digest.ts";
import type { Descriptor } from "./manifest.ts";
import { layerFileName, type ModelParts } from "./model-parts.ts";
import type { StoreLayout } from "./store-layout.ts";

/** Files that make a tokenizer vLLM can load. */
const tokenizerFiles = new Set(["tokenizer.json", "tokenizer.model", "vocab.json", "tiktoken.model"]);

/**
 * @throws SafetensorsParseError or InvalidManifestError when a weights file or config.json does not read
 */
export async function summarizeStoredSafetensors(
  layout: StoreLayout,
  parts: ModelParts,
  readBlob: (descriptor: Descriptor) => Promise<Uint8Array>,
): Promise<GGUFModelInfo> {
  const byName = new Map(parts.files.map((layer) => [layerFileName(layer), layer]));
  const tokenizerConfig = byName.get("tokenizer_config.json");
  const [headers, config, tokenizer] = await Promise.all([
    Promise.all(parts.weights.map((layer) => readSafetensorsHeader(layout.blob(layer.digest)))),
    readBlob(byName.get("config.json")!), // modelParts made sure it is there
    tokenizerConfig ? readBlob(tokenizerConfig) : undefined,
  ]);
  return summarizeSafetensors({
    config,
    ...(tokenizer ? { tokenizerConfig: tokenizer } : {}),
    headers,
    hasTokenizer: [...byName.keys()].some((name) => tokenizerFiles.has(name)),
    size: [...parts.weights, ...parts.files].reduce((sum, layer) => sum + layer.size, 0),
  });
}

/**
 * The model's directory under `bundles/`, made once: built aside, then
 * renamed into place, so a reader sees all of it or none. Links, not copies:
 * the weights stay in the store once.
 */
export async function ensureBundle(layout: StoreLayout, id: Sha256Digest, parts: ModelParts): Promise<string> {
  const dir = layout.bundle(id);
  if (await stat(dir).then(() => true, () => false)) return dir;
  const scratch = join(layout.tmpDir, `bundle-${randomUUID()}`);
  await mkdir(scratch, { recursive: true });
  try {
    // Folders first (at most one level, checked by layerFileName), then the links in them.
    const paths = [...parts.weights, ...parts.files].map((layer) => [layer, join(scratch, layerFileName(layer))] as const);
    await Promise.all([...new Set(paths.map(([, path]) => dirname(path)))].map((folder) => mkdir(folder, { recursive: true })));
    await Promise.all(paths.map(([layer, path]) => symlink(layout.blob(layer.digest), path)));
    await mkdir(join(dir, ".."), { recursive: true });
    await rename(scratch, dir).catch(async (error: unknown) => {
      // Another caller made it first: theirs holds the same links.
      if ((error as NodeJS.ErrnoException).code !== "ENOTEMPTY" && (error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return dir;
}
