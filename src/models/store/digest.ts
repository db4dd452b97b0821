import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { pipeline } from "node:stream/promises";
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

/** A file's digest, streamed: the file is never held in memory. */
export async function sha256File(path: string): Promise<Sha256Digest> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(path), hash);
  return `sha256:${hash.digest("hex")}`;
}
