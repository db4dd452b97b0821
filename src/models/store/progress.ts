import { shortDigest, type Sha256Digest } from "./digest.ts";

/** One progress event, in the shape Ollama streams: `{status, digest?, total?, completed?}`. */
export interface Progress {
  readonly status: string;
  readonly digest?: Sha256Digest;
  readonly total?: number;
  readonly completed?: number;
}

export type ProgressListener = (progress: Progress) => void;

/** Byte counts arrive per chunk; listeners hear at most this often (and always the last). */
const intervalMs = 100;

/**
 * Reports one blob's transfer as `pulling 0123456789ab` (or `pushing …`)
 * with bytes completed, throttled.
 *
 * @example const report = blobProgress(emit, "pulling", layer.digest, layer.size); report(4096);
 */
export function blobProgress(
  emit: ProgressListener | undefined,
  verb: string,
  digest: Sha256Digest,
  total: number,
): (completed: number) => void {
  let last = 0;
  let reported = -1;
  return (completed) => {
    const now = Date.now();
    if (completed === reported || (completed < total && now - last < intervalMs)) return;
    last = now;
    reported = completed;
    emit?.({ status: `${verb} ${shortDigest(digest)}`, digest, total, completed });
  };
}
