import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import { isSha256Digest, type Sha256Digest } from "../reference.ts";

export type { Sha256Digest };

/** Content did not hash to the digest it was announced with. Maps to a 400 (upload) or fails a pull. */
export class DigestMismatchError extends Error {
  override readonly name = "DigestMismatchError";
  constructor(
    readonly expected: Sha256Digest,
    readonly actual: Sha256Digest,
  ) {
    super(`digest mismatch: expected ${expected}, got ${actual}`);
  }
}

/** A string that should be a digest and is not. Maps to a 400. */
export class InvalidDigestError extends Error {
  override readonly name = "InvalidDigestError";
  constructor(readonly digest: string) {
    super(`invalid digest ${JSON.stringify(digest.slice(0, 100))}: expected sha256: and 64 hex digits`);
  }
}

/**
 * Accepts `sha256:<hex>` and Ollama's file-name spelling `sha256-<hex>`.
 *
 * @throws InvalidDigestError
 */
export function parseDigest(value: string): Sha256Digest {
  const normalized = value.trim().toLowerCase().replace(/^sha256-/, "sha256:");
  if (!isSha256Digest(normalized)) throw new InvalidDigestError(value);
  return normalized;
}

export function sha256Digest(data: Uint8Array | string): Sha256Digest {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/** The hex part: what blob files are named. */
export function digestHex(digest: Sha256Digest): string {
  return digest.slice("sha256:".length);
}

/** What progress lines show, as Ollama does: `pulling 0123456789ab`. */
export function shortDigest(digest: Sha256Digest): string {
  return digestHex(digest).slice(0, 12);
}

export interface HashFileOptions {
  readonly signal?: AbortSignal;
  /** Bytes hashed so far, after each read. */
  readonly onProgress?: (hashed: number) => void;
}

/** Read into one buffer, reused: a fresh 1 MiB buffer per read left ~30 MB of RSS behind after hashing the demo models. */
const hashChunkBytes = 1024 * 1024;

/** A file's digest and size, read a chunk at a time: the file is never held in memory. */
export async function sha256File(path: string, options: HashFileOptions = {}): Promise<{ readonly digest: Sha256Digest; readonly size: number }> {
  const hash = createHash("sha256");
  const buffer = Buffer.allocUnsafe(hashChunkBytes);
  let size = 0;
  const file = await open(path, "r");
  try {
    for (;;) {
      options.signal?.throwIfAborted();
      const { bytesRead } = await file.read(buffer, 0, buffer.length, size);
      if (bytesRead === 0) break;
      size += bytesRead;
      hash.update(buffer.subarray(0, bytesRead));
      options.onProgress?.(size);
    }
  } finally {
    await file.close();
  }
  return { digest: `sha256:${hash.digest("hex")}`, size };
}
