import { readGGUF } from "../gguf.ts";
import type { NamedReference } from "../reference.ts";
import { fileSource, type ReceiveBlobOptions } from "./blob-writer.ts";
import { buildModel, type ModelExtras } from "./model-builder.ts";
import type { ModelStore, StoredModel } from "./model-store.ts";

export interface ImportGGUFOptions extends Pick<ReceiveBlobOptions, "onProgress" | "signal"> {
  readonly tags: readonly NamedReference[];
  readonly extras?: ModelExtras;
  /**
   * Hard-link the file into the store instead of copying it (copied anyway
   * across filesystems). Only for files nobody rewrites in place: the store
   * then shares their bytes.
   */
  readonly link?: boolean;
}

/**
 * Imports a local GGUF file (`modelgate create NAME -f file.gguf`). The file
 * is checked before anything is stored, so one that is not valid GGUF is
 * refused with the parser's reason and leaves nothing behind.
 *
 * @throws GGUFParseError
 */
export async function importGGUF(store: ModelStore, path: string, options: ImportGGUFOptions): Promise<StoredModel> {
  await readGGUF(path);
  const receive = { onProgress: options.onProgress, signal: options.signal };
  const blob = options.link ? await store.linkBlob(path, receive) : await store.receiveBlob(fileSource(path), receive);
  try {
    return await buildModel(store, { weights: [blob], extras: options.extras, tags: options.tags });
  } catch (error) {
    // Rewritten between the check and the copy: the stored copy is refused too, and goes.
    await store.removeUnreferencedBlob(blob.digest);
    throw error;
  }
}
