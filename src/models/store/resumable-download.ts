import { errors as undiciErrors } from "undici";
import type { OpenBlob, StoredBlob } from "./blob-writer.ts";
import type { Sha256Digest } from "./digest.ts";
import type { ModelStore } from "./model-store.ts";

export interface ResumableDownloadOptions {
  readonly onProgress?: (completed: number) => void;
  readonly signal?: AbortSignal;
  /** Tries when the connection fails part-way; each resumes where the last stopped. */
  readonly attempts?: number;
}

/**
 * Downloads a blob whose digest and size are known into the store, resuming
 * with a Range request after a broken connection. Wrong content (a digest
 * mismatch) is never retried: it is discarded and reported.
 */
export async function downloadBlob(
  store: ModelStore,
  open: OpenBlob,
  expected: { readonly digest: Sha256Digest; readonly size: number },
  options: ResumableDownloadOptions = {},
): Promise<StoredBlob> {
  const attempts = options.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    try {
      return await store.receiveBlob(open, { expected, resumable: true, onProgress: options.onProgress, signal: options.signal });
    } catch (error) {
      if (attempt >= attempts || options.signal?.aborted || !isInterruption(error)) throw error;
    }
  }
}

/** A connection that broke part-way, as opposed to content that is wrong. */
function isInterruption(error: unknown): boolean {
  if (error instanceof undiciErrors.UndiciError) return true;
  // A client's own error may wrap the connection's (the registry client's uniform refusal does).
  if (error instanceof Error && error.cause !== undefined) return isInterruption(error.cause);
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === "ECONNRESET" || code === "EPIPE" || code === "ECONNREFUSED" || code === "ETIMEDOUT" || code === "UND_ERR_SOCKET";
}
