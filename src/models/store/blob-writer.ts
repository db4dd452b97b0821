/**
 * Blobs come in through here, from whatever source: bytes are hashed as they
 * stream to a scratch file, never held in memory; the file is verified
 * against the digest it was announced with, fsync'd and renamed into place.
 * A download interrupted part-way is kept as `<hex>.incomplete` and resumed
 * from its length next time, unless the disk filled up.
 */
import { createHash, randomUUID, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { link, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { Transform, Writable, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { moveIntoPlace } from "../../utilities/atomic-file.ts";
import { flushingFileWriter } from "./flushing-file-writer.ts";
import { DigestMismatchError, sha256File, type Sha256Digest } from "./digest.ts";
import type { StoreLayout } from "./store-layout.ts";

/** A blob's bytes from some offset on. */
export interface BlobBody {
  /** Where `body` starts: the offset asked for, or 0 when the source cannot skip. */
  readonly offset: number;
  readonly body: Readable | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
}

/** Opens the source at `offset` (a Range request, a file position). */
export type OpenBlob = (offset: number, signal?: AbortSignal) => Promise<BlobBody>;

export interface ExpectedBlob {
  readonly digest: Sha256Digest;
  readonly size?: number;
}

export interface ReceiveBlobOptions {
  /** What the content must hash to; without it, the content names itself. */
  readonly expected?: ExpectedBlob;
  /** Keep an interrupted download as `<hex>.incomplete` and continue it next time (needs `expected`). */
  readonly resumable?: boolean;
  /** Bytes so far (resumed ones included) and the total when known. */
  readonly onProgress?: (completed: number, total: number | undefined) => void;
  readonly signal?: AbortSignal;
}

export interface StoredBlob {
  readonly digest: Sha256Digest;
  readonly size: number;
}

/** The source sent more, or fewer, bytes than the descriptor said. */
export class BlobSizeMismatchError extends Error {
  override readonly name = "BlobSizeMismatchError";
}

export async function receiveBlob(layout: StoreLayout, open: OpenBlob, options: ReceiveBlobOptions = {}): Promise<StoredBlob> {
  const { expected, signal } = options;
  if (expected) {
    const present = await presentSize(layout.blob(expected.digest));
    if (present !== undefined && (expected.size === undefined || present === expected.size)) {
      options.onProgress?.(present, present);
      return { digest: expected.digest, size: present };
    }
  }
  const resumable = options.resumable === true && expected !== undefined;
  const partial = resumable ? layout.incomplete(expected.digest) : join(layout.tmpDir, `${randomUUID()}.blob`);
  try {
    const received = await download(partial, open, resumable, options);
    if (expected && received.digest !== expected.digest) {
      await rm(partial, { force: true });
      throw new DigestMismatchError(expected.digest, received.digest);
    }
    await moveIntoPlace(partial, layout.blob(received.digest));
    return received;
  } catch (error) {
    // Kept to resume after a broken connection; not after the disk filled up, which it would keep full.
    if (!resumable || isOutOfSpace(error)) await rm(partial, { force: true });
    if (signal?.aborted) throw signal.reason;
    throw error;
  }
}

/** A file on the same filesystem joins the store as a hard link (no copy); elsewhere it is copied. */
export async function linkOrCopyBlob(layout: StoreLayout, path: string, options: ReceiveBlobOptions = {}): Promise<StoredBlob> {
  const scratch = join(layout.tmpDir, `${randomUUID()}.link`);
  try {
    await link(path, scratch);
  } catch {
    return receiveBlob(layout, fileSource(path), options);
  }
  try {
    // Hashed through the link, so what is verified is what stays.
    const announced = options.expected?.size;
    if (announced !== undefined && announced !== (await stat(scratch)).size) {
      throw new BlobSizeMismatchError(`${path} is not the ${announced} bytes announced`);
    }
    const { digest, size } = await hashFile(scratch, options);
    if (options.expected && digest !== options.expected.digest) throw new DigestMismatchError(options.expected.digest, digest);
    await moveIntoPlace(scratch, layout.blob(digest));
    return { digest, size };
  } finally {
    await rm(scratch, { force: true });
  }
}

/** Reads a local file as a blob source. */
export function fileSource(path: string): OpenBlob {
  return async (offset) => ({ offset, body: createReadStream(path, { start: offset, highWaterMark: 1024 * 1024 }) });
}

async function download(partial: string, openSource: OpenBlob, resumable: boolean, options: ReceiveBlobOptions): Promise<StoredBlob> {
  const total = options.expected?.size;
  let offset = resumable ? ((await presentSize(partial)) ?? 0) : 0;
  if (total !== undefined && offset > total) offset = 0;
  if (total !== undefined && offset === total) {
    // Complete but not renamed before a crash: verify it as it is.
    return hashFile(partial, options);
  }
  const source = await openSource(offset, options.signal);
  const start = source.offset; // 0 when the source could not skip: the partial file is rewritten
  if (start !== 0 && start !== offset) throw new Error(`the source resumed at byte ${start}, not ${offset}`);
  const hash = createHash("sha256");
  if (start > 0) await pipeline(createReadStream(partial, { end: start - 1 }), hashInto(hash));

  let completed = start;
  // A source that fails part-way ends the stream cleanly instead, so every byte
  // that arrived reaches the file before the failure is reported.
  let interruption: unknown;
  const received = async function* () {
    try {
      yield* source.body;
    } catch (error) {
      interruption = error;
    }
  };
  await pipeline(
    received(),
    new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        completed += chunk.byteLength;
        if (total !== undefined && completed > total) {
          callback(new BlobSizeMismatchError(`more than the ${total} bytes announced`));
          return;
        }
        hash.update(chunk);
        options.onProgress?.(completed, total);
        callback(null, chunk);
      },
    }),
    await flushingFileWriter(partial, start),
    { signal: options.signal },
  );
  if (interruption !== undefined) throw interruption;
  if (total !== undefined && completed !== total) {
    throw new BlobSizeMismatchError(`the source ended after ${completed} of ${total} bytes`);
  }
  return { digest: `sha256:${hash.digest("hex")}`, size: completed };
}

/** Hashes a file already in the store's directory, reporting progress against the blob's announced size. */
function hashFile(path: string, options: ReceiveBlobOptions): Promise<StoredBlob> {
  return sha256File(path, { signal: options.signal, onProgress: (hashed) => options.onProgress?.(hashed, options.expected?.size) });
}

function hashInto(hash: Hash): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback();
    },
  });
}

/** The disk, the user's quota or the process's file-size limit is full. */
function isOutOfSpace(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOSPC" || code === "EDQUOT" || code === "EFBIG";
}

async function presentSize(path: string): Promise<number | undefined> {
  return stat(path).then(
    (info) => info.size,
    () => undefined,
  );
}
