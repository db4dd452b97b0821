/**
 * Pulls a model from an OCI registry into the store, in either artifact
 * format: the manifest first (refused early unless it holds GGUF weights),
 * then each blob, resumable and verified, then the tag. Transient failures
 * mid-blob are retried from where they stopped.
 */
import { manifestBlobs } from "../store/manifest.ts";
import { modelParts } from "../store/model-parts.ts";
import type { ModelStore, StoredModel } from "../store/model-store.ts";
import { blobProgress, type ProgressListener } from "../store/progress.ts";
import { downloadBlob } from "../store/resumable-download.ts";
import { withTag, type NamedReference } from "../reference.ts";
import type { RegistryClient } from "./registry-client.ts";

export interface RegistryPullOptions {
  readonly onProgress?: ProgressListener;
  readonly signal?: AbortSignal;
  readonly insecure?: boolean;
  /** Attempts per blob when the connection fails part-way; each resumes where the last stopped. */
  readonly attempts?: number;
}

export async function pullFromRegistry(
  store: ModelStore,
  client: RegistryClient,
  reference: NamedReference,
  options: RegistryPullOptions = {},
): Promise<StoredModel> {
  const { onProgress, signal } = options;
  const target = { reference, insecure: options.insecure };
  onProgress?.({ status: "pulling manifest" });
  const manifest = await client.getManifest(target, signal);
  modelParts(manifest.manifest); // no GGUF weights: refused before any download

  for (const blob of manifestBlobs(manifest.manifest)) {
    await downloadBlob(store, client.openBlob(target, blob.digest), blob, {
      onProgress: blobProgress(onProgress, "pulling", blob.digest, blob.size),
      signal,
      attempts: options.attempts,
    });
  }
  onProgress?.({ status: "verifying sha256 digest" });
  onProgress?.({ status: "writing manifest" });
  return store.commit(manifest, [withTag(reference, reference.tag)]);
}
