/**
 * Brings the models of an existing Ollama installation into the store
 * without copying their data: Ollama's blobs are hard-linked in (copied only
 * across filesystems) and verified, and its manifests are kept byte for
 * byte, so each model keeps the ID Ollama shows for it.
 *
 * Ollama's layout: `manifests/<registry>/<namespace>/<model>/<tag>` and
 * `blobs/sha256-<hex>`.
 */
import { readdir, readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { parseNamedReference, type NamedReference } from "../reference.ts";
import { digestHex } from "./digest.ts";
import { manifestBlobs, parseManifest } from "./manifest.ts";
import { modelParts } from "./model-parts.ts";
import type { ModelStore, StoredModel } from "./model-store.ts";
import type { ProgressListener } from "./progress.ts";

export const defaultOllamaModelsDir = join(homedir(), ".ollama", "models");

/** Ollama's own registry and namespace: its models are known by the bare name (`llama3.2:latest`). */
const ollamaLibrary = "registry.ollama.ai/library/";

export interface OllamaImportResult {
  readonly imported: readonly StoredModel[];
  /** Models left out (not GGUF, unreadable), with the reason. */
  readonly skipped: readonly { readonly name: string; readonly reason: string }[];
}

export async function importOllama(
  store: ModelStore,
  dir: string = defaultOllamaModelsDir,
  options: { onProgress?: ProgressListener; signal?: AbortSignal } = {},
): Promise<OllamaImportResult> {
  const imported: StoredModel[] = [];
  const skipped: { name: string; reason: string }[] = [];
  for (const path of await manifestFiles(join(dir, "manifests"))) {
    options.signal?.throwIfAborted();
    const name = path.join("/");
    try {
      const reference = ollamaReference(path);
      options.onProgress?.({ status: `importing ${reference}` });
      const manifest = parseManifest(await readFile(join(dir, "manifests", ...path)));
      modelParts(manifest.manifest); // no GGUF weights (safetensors models): skipped
      for (const blob of manifestBlobs(manifest.manifest)) {
        await store.linkBlob(join(dir, "blobs", `sha256-${digestHex(blob.digest)}`), {
          expected: { digest: blob.digest, size: blob.size },
          signal: options.signal,
        });
      }
      imported.push(await store.commit(manifest, [reference]));
    } catch (error) {
      if (options.signal?.aborted) throw error;
      skipped.push({ name, reason: (error as Error).message });
    }
  }
  return { imported, skipped };
}

function ollamaReference([registry, namespace, model, tag]: string[]): NamedReference {
  const full = `${registry}/${namespace}/${model}:${tag}`;
  return parseNamedReference(full.startsWith(ollamaLibrary) ? full.slice(ollamaLibrary.length) : full);
}

/** `[registry, namespace, model, tag]` of every manifest file, four levels down. */
async function manifestFiles(root: string): Promise<string[][]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return [];
    throw error;
  });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => [...entry.parentPath.slice(root.length + 1).split("/"), entry.name])
    .filter((parts) => parts.length === 4)
    .sort((a, b) => a.join("/").localeCompare(b.join("/")));
}
