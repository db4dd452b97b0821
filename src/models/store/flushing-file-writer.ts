import { open } from "node:fs/promises";
import { Writable } from "node:stream";

/** How much is written between background flushes. */
const flushBytes = 32 * 1024 * 1024;

/**
 * A Writable into a file, from `start` on, that is durable when it
 * finishes: every {@link flushBytes} an fdatasync starts in the background,
 * so the disk takes the data while more arrives and the closing fsync has
 * little left to do (an fsync after the last byte costs about as much as the
 * whole download from a fast registry). Chunks that queue up while a write
 * is in flight go out in one writev.
 */
export async function flushingFileWriter(path: string, start: number): Promise<Writable> {
  const handle = await open(path, start > 0 ? "r+" : "w");
  let position = start;
  let unflushed = 0;
  const flushes = new Set<Promise<void>>();

  const flushInBackground = () => {
    const flush: Promise<void> = handle.datasync().finally(() => flushes.delete(flush));
    flushes.add(flush);
    flush.catch(() => undefined); // reported by the final sync
  };

  /**
   * A write may take only part of the bytes (the disk filled up, a file-size
   * limit): write the rest, so a short write is retried, and fails with the
   * cause, instead of leaving a hole.
   */
  const writeAll = async (buffers: Buffer[]) => {
    for (let pending = buffers; pending.length > 0; ) {
      const { bytesWritten } = await handle.writev(pending, position);
      if (bytesWritten === 0) throw new Error(`no byte of the write reached ${path}`);
      position += bytesWritten;
      unflushed += bytesWritten;
      pending = skipBytes(pending, bytesWritten);
    }
  };

  return new Writable({
    highWaterMark: 4 * 1024 * 1024,
    writev(chunks, callback) {
      writeAll(chunks.map(({ chunk }) => chunk as Buffer)).then(() => {
        if (unflushed >= flushBytes && flushes.size === 0) {
          unflushed = 0;
          flushInBackground();
        }
        callback();
      }, callback);
    },
    final(callback) {
      Promise.all(flushes)
        .then(() => handle.sync())
        .then(() => handle.close())
        .then(() => callback(), callback);
    },
    destroy(error, callback) {
      Promise.allSettled(flushes)
        .then(() => handle.close())
        .then(
          () => callback(error),
          () => callback(error),
        );
    },
  });
}

/** What is left of `buffers` once their first `count` bytes are gone. */
function skipBytes(buffers: Buffer[], count: number): Buffer[] {
  let skipped = count;
  const rest: Buffer[] = [];
  for (const buffer of buffers) {
    if (skipped >= buffer.byteLength) skipped -= buffer.byteLength;
    else {
      rest.push(skipped > 0 ? buffer.subarray(skipped) : buffer);
      skipped = 0;
    }
  }
  return rest;
}
