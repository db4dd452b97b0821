/**
 * Pulls a model from an OCI registry into the store, in either artifact
 * format: the manifest first (refused early unless it holds GGUF weights),
 * then each blob, resumable and verified, then the tag. Transient failures
 * mid-blob are retried from where they stopped.
 */
import { errors as undiciErrors } from "undici";
import { manifestBlobs, type Descriptor } from "../store/manifest.ts";
import { modelParts } from "../store/model-parts.ts";
import type { ModelStore, StoredModel } from "../store/model-store.ts";
import { blobProgress, type ProgressListener } from "../store/progress.ts";
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
    await pullBlob(store, client, target, blob, options);
  }
  onProgress?.({ status: "verifying sha256 digest" });
  onProgress?.({ status: "writing manifest" });
  return store.commit(manifest, [withTag(reference, reference.tag)]);
}

async function pullBlob(
  store: ModelStore,
  client: RegistryClient,
  target: { reference: NamedReference; insecure?: boolean },
  blob: Descriptor,
  options: RegistryPullOptions,
): Promise<void> {
  const report = blobProgress(options.onProgress, "pulling", blob.digest, blob.size);
  const attempts = options.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    try {
      await store.receiveBlob(client.openBlob(target, blob.digest), {
        expected: { digest: blob.digest, size: blob.size },
        resumable: true,
        onProgress: report,
        signal: options.signal,
      });
      return;
    } catch (error) {
      if (attempt >= attempts || options.signal?.aborted || !isInterruption(error)) throw error;
    }
  }
}

/** A connection that broke part-way, as opposed to content that is wrong. */
function isInterruption(error: unknown): boolean {
  if (error instanceof undiciErrors.UndiciError) return true;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === "ECONNRESET" || code === "EPIPE" || code === "ECONNREFUSED" || code === "ETIMEDOUT" || code === "UND_ERR_SOCKET";
}
