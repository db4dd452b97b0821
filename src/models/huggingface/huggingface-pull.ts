/**
 * `hf.co/{org}/{repo}[:{quant}]`: lists the repository, picks the GGUF files
 * for the quantization, downloads them into the store (verified against the
 * Hub's sha256 and resumable when the Hub gives one), and builds a model in
 * Docker Model Runner's format around them.
 */
import { buildModel } from "../store/model-builder.ts";
import type { StoredBlob } from "../store/blob-writer.ts";
import type { ModelStore, StoredModel } from "../store/model-store.ts";
import { blobProgress, type ProgressListener } from "../store/progress.ts";
import { downloadBlob } from "../store/resumable-download.ts";
import { sha256Digest } from "../store/digest.ts";
import type { NamedReference } from "../reference.ts";
import type { HubClient } from "./hub-client.ts";
import { selectQuantization } from "./quant-selection.ts";

export interface HuggingFacePullOptions {
  readonly onProgress?: ProgressListener;
  readonly signal?: AbortSignal;
}

export async function pullFromHuggingFace(
  store: ModelStore,
  hub: HubClient,
  reference: NamedReference,
  options: HuggingFacePullOptions = {},
): Promise<StoredModel> {
  const { onProgress, signal } = options;
  onProgress?.({ status: "pulling manifest" });
  const { files } = selectQuantization(reference.repository, await hub.listFiles(reference.repository, signal), reference.tag);

  const weights: StoredBlob[] = [];
  for (const file of files) {
    // Without the Hub's digest the progress line is named after the path, hashed.
    const report = blobProgress(onProgress, "pulling", file.digest ?? sha256Digest(file.path), file.size);
    const open = hub.openFile(reference.repository, file.path);
    weights.push(
      file.digest
        ? await downloadBlob(store, open, { digest: file.digest, size: file.size }, { onProgress: report, signal })
        : await store.receiveBlob(open, { onProgress: report, signal }),
    );
  }
  onProgress?.({ status: "verifying sha256 digest" });
  onProgress?.({ status: "writing manifest" });
  const [first, ...rest] = weights;
  return buildModel(store, { weights: [first!, ...rest], tags: [reference] });
}
