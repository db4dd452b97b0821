/**
 * The index: which tags name which model, and which blobs each model holds.
 * It is what lists as a model, so it is written last, atomically, and only
 * by read-modify-write under a lock that every process using the store
 * shares.
 */
import type { BigIntStats } from "node:fs";
import { statSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import * as v from "valibot";
import { withFileLock } from "../../utilities/file-lock.ts";
import { isSha256Digest } from "../reference.ts";
import { writeFileAtomic } from "../../utilities/atomic-file.ts";
import type { Sha256Digest } from "./digest.ts";
import { parseJson } from "./manifest.ts";
import type { StoreLayout } from "./store-layout.ts";

const DigestSchema = v.custom<Sha256Digest>((value) => typeof value === "string" && isSha256Digest(value), "expected a sha256 digest");

const IndexEntrySchema = v.object({
  /** The manifest's digest. */
  id: DigestSchema,
  /** Canonical references (`docker.io/ai/tiny:latest`); a tag names one model at most. */
  tags: v.array(v.string()),
  /** Config and layers: what the model holds a reference on. */
  files: v.array(DigestSchema),
  created: v.string(),
});

const IndexSchema = v.object({ version: v.literal(1), models: v.array(IndexEntrySchema) });

export type IndexEntry = v.InferOutput<typeof IndexEntrySchema>;

export interface StoreIndex {
  read(): Promise<readonly IndexEntry[]>;
  /** What `read` would give, when the file is the one last read (its stat says so); undefined when it must be read. */
  kept(): readonly IndexEntry[] | undefined;
  /**
   * Runs `change` on the current entries under the lock and writes what it
   * returns; `after` runs still under the lock, once the new index is durable
   * (removing blobs that nothing references any more).
   */
  update<T>(change: (entries: readonly IndexEntry[]) => Promise<IndexChange<T>> | IndexChange<T>): Promise<T>;
}

export interface IndexChange<T> {
  readonly entries: readonly IndexEntry[];
  readonly result: T;
  readonly after?: () => Promise<void>;
}

export function createStoreIndex(layout: StoreLayout): StoreIndex {
  let queue: Promise<unknown> = Promise.resolve();

  // Every request resolves its model here, several times: the parsed file is
  // kept while a stat says it is the same file (each write renames a new one
  // into place, from this process or another). The stat is synchronous: a few
  // microseconds, where a trip through libuv's thread pool costs every
  // request a fraction of a millisecond before its first token. It is taken
  // once per event handled (the callback and the promise reactions it sets
  // off, up to the next tick): a request resolves its model several times in
  // one, and no change made outside this process can be seen within it.
  let cached: { readonly version: string; readonly entries: readonly IndexEntry[] } | undefined;
  let statedThisTick = false;
  const nextTick = () => void (statedThisTick = false);

  /** The file's version now; @throws what the stat throws */
  const stated = (): string => {
    const version = fileVersion(statSync(layout.index, { bigint: true }));
    if (!statedThisTick) {
      statedThisTick = true;
      process.nextTick(nextTick);
    }
    return version;
  };

  const kept = (): readonly IndexEntry[] | undefined => {
    if (statedThisTick || !cached) return cached?.entries;
    try {
      if (cached.version === stated()) return cached.entries;
    } catch {
      // `read` says why.
    }
    cached = undefined; // changed: `read`, stating again this tick, must not take it
    return undefined;
  };

  const read = async (): Promise<readonly IndexEntry[]> => {
    if (statedThisTick && cached) return cached.entries;
    let version: string;
    let text: string;
    try {
      version = stated();
      if (cached?.version === version) return cached.entries;
      text = await readFile(layout.index, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
    const entries = parseJson(text, IndexSchema, `model index ${layout.index}`).models;
    // Kept only if the file did not change between the stat and the read.
    if (fileVersion(await stat(layout.index, { bigint: true }).catch(() => undefined)) === version) cached = { version, entries };
    return entries;
  };

  return {
    read,
    kept,
    update(change) {
      // In-process callers queue here, so they do not poll the file lock against each other.
      const run = queue.then(() =>
        withFileLock(`${layout.index}.lock`, async () => {
          const { entries, result, after } = await change(await read());
          await writeFileAtomic(layout.index, `${JSON.stringify({ version: 1, models: entries }, null, 1)}\n`, layout.tmpDir);
          statedThisTick = false; // its own write is seen at once
          await after?.();
          return result;
        }),
      );
      queue = run.catch(() => undefined);
      return run;
    },
  };
}

function fileVersion(stats: BigIntStats | undefined): string {
  return stats ? `${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}` : "";
}
