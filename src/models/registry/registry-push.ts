/**
 * Pushes a stored model to the registry its name points at, blob by blob
 * (skipping those the registry holds), then the manifest's exact bytes, so
 * the model keeps its ID on the other side.
 */
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { manifestBlobs } from "../store/manifest.ts";
import type { ModelStore, StoredModel } from "../store/model-store.ts";
import { blobProgress, type ProgressListener } from "../store/progress.ts";
import type { NamedReference } from "../reference.ts";
import type { RegistryClient } from "./registry-client.ts";

export interface RegistryPushOptions {
  readonly onProgress?: ProgressListener;
  readonly signal?: AbortSignal;
  readonly insecure?: boolean;
}

/** @throws ModelNotFoundError when no local model has that name */
export async function pushToRegistry(
  store: ModelStore,
  client: RegistryClient,
  reference: NamedReference,
  options: RegistryPushOptions = {},
): Promise<StoredModel> {
  const { onProgress, signal } = options;
  onProgress?.({ status: "retrieving manifest" });
  const model = await store.find(reference);
  const target = { reference, push: true, insecure: options.insecure };

  for (const blob of manifestBlobs(model.manifest.manifest)) {
    const report = blobProgress(onProgress, "pushing", blob.digest, blob.size);
    if (!(await client.hasBlob(target, blob.digest, signal))) {
      const path = store.blobPath(blob.digest);
      const body = () => Readable.from(counting(createReadStream(path, { highWaterMark: 1024 * 1024 }), report));
      await client.uploadBlob(target, blob.digest, blob.size, body, signal);
    }
    report(blob.size);
  }
  onProgress?.({ status: "pushing manifest" });
  await client.putManifest(target, model.manifest, signal);
  return model;
}

/** Passes chunks through, reporting the bytes so far; errors of the file reach the upload. */
async function* counting(source: AsyncIterable<Buffer>, report: (completed: number) => void): AsyncGenerator<Buffer> {
  let completed = 0;
  for await (const chunk of source) {
    completed += chunk.byteLength;
    report(completed);
    yield chunk;
  }
}
