/**
 * The model store under `<home>/models`: content-addressed blobs and
 * manifests, and an index of tags written last. A model is listed only once
 * every blob it needs is in place and verified and its GGUF header reads, so
 * a crash at any point leaves the old state or the new one. It is also the
 * scheduler's {@link ModelResolver}.
 */
import { mkdir, readdir, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { sharedTasks } from "../../utilities/shared-task.ts";
import { readGGUF, summarizeGGUF, type GGUFModelInfo } from "../gguf.ts";
import { ModelNotFoundError, type ModelResolver, type ResolvedModel } from "../model-resolver.ts";
import { parseModelReference, parseNamedReference, type ModelReference, type NamedReference } from "../reference.ts";
import { writeFileAtomic } from "../../utilities/atomic-file.ts";
import { linkOrCopyBlob, receiveBlob, type OpenBlob, type ReceiveBlobOptions, type StoredBlob } from "./blob-writer.ts";
import type { Sha256Digest } from "./digest.ts";
import { InvalidManifestError, manifestBlobs, parseManifest, type Descriptor, type ManifestBlob } from "./manifest.ts";
import { readModelFacts, type ModelFacts } from "./model-config.ts";
import { modelParts, type ModelParts } from "./model-parts.ts";
import { ensureBundle, summarizeStoredSafetensors } from "./safetensors-bundle.ts";
import { createStoreIndex, type IndexEntry } from "./store-index.ts";
import { storeLayout, type StoreLayout } from "./store-layout.ts";

/** A model in the store, as its manifest and config describe it. */
export interface StoredModel {
  /** The manifest's digest. */
  readonly id: Sha256Digest;
  /** Every tag naming it, oldest first. */
  readonly tags: readonly NamedReference[];
  readonly created: Date;
  readonly manifest: ManifestBlob;
  readonly facts: ModelFacts;
  readonly parts: ModelParts;
  /** Bytes of its layers. */
  readonly size: number;
}

export interface ModelStore extends ModelResolver {
  readonly layout: StoreLayout;
  /** Every model with all its tags. */
  models(): Promise<StoredModel[]>;
  /**
   * By name, `name@digest`, or ID (`sha256:…`, 64 or 12 hex digits).
   *
   * @throws ModelNotFoundError
   * @throws InvalidReferenceError
   */
  find(reference: string | ModelReference): Promise<StoredModel>;
  /**
   * Makes a model listed under `tags`: checks that every blob is present with
   * its size, that the config reads and the GGUF header parses, writes the
   * manifest, then the index. Tags move from whatever model held them; a
   * model left without tags is removed.
   */
  commit(manifest: ManifestBlob, tags: readonly NamedReference[]): Promise<StoredModel>;
  /** @throws ModelNotFoundError */
  tag(source: string | ModelReference, target: NamedReference): Promise<StoredModel>;
  /**
   * A name removes that tag (and the model with its last one); an ID removes
   * the model. Blobs no other model uses go with it.
   *
   * @throws ModelNotFoundError
   */
  remove(reference: string | ModelReference): Promise<StoredModel>;
  receiveBlob(open: OpenBlob, options?: ReceiveBlobOptions): Promise<StoredBlob>;
  linkBlob(path: string, options?: ReceiveBlobOptions): Promise<StoredBlob>;
  hasBlob(digest: Sha256Digest, size?: number): Promise<boolean>;
  blobPath(digest: Sha256Digest): string;
  /** A small blob (config, template, license), whole. */
  readBlob(descriptor: Descriptor): Promise<Uint8Array>;
  /** The GGUF header of a weights blob, summarized; read once per blob. */
  summary(digest: Sha256Digest): Promise<GGUFModelInfo>;
  /** Blobs no model references: uploads never used in a create, leftovers of a crash. */
  removeUnreferencedBlob(digest: Sha256Digest): Promise<void>;
}

/** Configs and text layers are read whole; anything bigger is not one. */
const maxSmallBlobBytes = 16 * 1024 * 1024;

/** Distinct references kept resolved per index version (each model has a few spellings). */
const maxKeptResolutions = 1024;

/** Scratch files older than this belong to a process that died. */
const staleScratchMs = 60 * 60 * 1000;

/**
 * @example
 * const store = await openModelStore({ home: config.home });
 * await registerDemoModels(store, await ensureFixtureModels());
 * await store.resolve("tiny"); // { name: "tiny:latest", paths: [".../blobs/sha256/…"], … }
 */
export async function openModelStore(options: { home: string }): Promise<ModelStore> {
  const layout = storeLayout(join(options.home, "models"));
  await Promise.all([layout.blobsDir, layout.manifestsDir, layout.tmpDir].map((dir) => mkdir(dir, { recursive: true })));
  await sweepScratch(layout.tmpDir);
  const index = createStoreIndex(layout);
  const described = new Map<Sha256Digest, Promise<Omit<StoredModel, "tags" | "created">>>();
  const summaries = new Map<Sha256Digest, Promise<GGUFModelInfo>>();
  const blobDownloads = sharedTasks<StoredBlob, number>();

  const readBlob = async (descriptor: Descriptor): Promise<Uint8Array> => {
    if (descriptor.size > maxSmallBlobBytes) throw new InvalidManifestError(`${descriptor.mediaType} blob is too large to read whole`);
    return readFile(layout.blob(descriptor.digest));
  };

  const summary = (digest: Sha256Digest): Promise<GGUFModelInfo> =>
    memo(summaries, digest, async () => summarizeGGUF(await readGGUF(layout.blob(digest))));

  const modelSummaries = new Map<Sha256Digest, Promise<GGUFModelInfo>>();
  /** What a model's weights say of it, whichever format; read once per model. */
  const modelSummary = (id: Sha256Digest, parts: ModelParts): Promise<GGUFModelInfo> =>
    parts.format === "gguf" ? summary(parts.weights[0].digest) : memo(modelSummaries, id, () => summarizeStoredSafetensors(layout, parts, readBlob));

  /** Where an engine finds the model: GGUF files, or a safetensors model's directory. */
  const modelPaths = async (id: Sha256Digest, parts: ModelParts): Promise<[string, ...string[]]> =>
    parts.format === "gguf"
      ? [layout.blob(parts.weights[0].digest), ...parts.weights.slice(1).map((layer) => layout.blob(layer.digest))]
      : [await ensureBundle(layout, id, parts)];

  // Manifests and configs are content-addressed: what an ID describes never changes.
  const describe = (id: Sha256Digest) =>
    memo(described, id, async () => {
      const manifest = parseManifest(await readFile(layout.manifest(id)));
      return describeManifest(manifest, await readBlob(manifest.manifest.config));
    });

  /**
   * What each reference resolved to, for as long as the index is the same
   * (each version of it is a new array): every request resolves its model,
   * and this spares it the chain of lookups before its first token.
   */
  const resolutions = new WeakMap<readonly IndexEntry[], Map<string, Promise<ResolvedModel>>>();

  const toStored = async (entry: IndexEntry): Promise<StoredModel> => ({
    ...(await describe(entry.id)),
    tags: entry.tags.map((tag) => parseNamedReference(tag)),
    created: new Date(entry.created),
  });

  const findEntry = (entries: readonly IndexEntry[], reference: ModelReference): IndexEntry | undefined => {
    if (reference.kind === "id") {
      const matches = entries.filter((entry) => entry.id.slice("sha256:".length).startsWith(reference.hex));
      if (matches.length === 1) return matches[0];
      return reference.name ? findEntry(entries, reference.name) : undefined;
    }
    if (reference.digest) return entries.find((entry) => entry.id === reference.digest);
    return entries.find((entry) => entry.tags.includes(reference.canonical));
  };

  const findIn = async (entries: readonly IndexEntry[], reference: ModelReference): Promise<StoredModel> => {
    const entry = findEntry(entries, reference);
    if (!entry) throw new ModelNotFoundError(String(reference));
    return toStored(entry);
  };

  const find = async (reference: string | ModelReference): Promise<StoredModel> =>
    findIn(await index.read(), typeof reference === "string" ? parseModelReference(reference) : reference);

  /** Blobs and manifests that only the dropped entries referenced. */
  const collect = (dropped: readonly IndexEntry[], kept: readonly IndexEntry[]) => async () => {
    const used = new Set(kept.flatMap((entry) => entry.files));
    const keptIds = new Set(kept.map((entry) => entry.id));
    const blobs = new Set(dropped.flatMap((entry) => entry.files).filter((digest) => !used.has(digest)));
    await Promise.all([
      ...[...blobs].map((digest) => rm(layout.blob(digest), { force: true })),
      ...dropped
        .filter((entry) => !keptIds.has(entry.id))
        .flatMap((entry) => [layout.manifest(entry.id), layout.configuration(entry.id), layout.bundle(entry.id)])
        .map((path) => rm(path, { recursive: true, force: true })),
    ]);
    for (const digest of blobs) summaries.delete(digest);
  };

  /** Moves `tags` onto `target` (new or existing), dropping entries left with none. */
  const retag = (entries: readonly IndexEntry[], target: IndexEntry, tags: readonly string[]) => {
    const taken = new Set(tags);
    const others = entries
      .filter((entry) => entry.id !== target.id)
      .map((entry) => ({ ...entry, tags: entry.tags.filter((tag) => !taken.has(tag)) }));
    const merged = { ...target, tags: [...target.tags.filter((tag) => !taken.has(tag)), ...tags] };
    const kept = [...others.filter((entry) => entry.tags.length > 0), merged];
    const dropped = others.filter((entry) => entry.tags.length === 0);
    return { entries: kept, after: collect(dropped, kept) };
  };

  const hasBlob = async (digest: Sha256Digest, size?: number) =>
    stat(layout.blob(digest)).then(
      (info) => size === undefined || info.size === size,
      () => false,
    );

  const resolveIn = async (reading: Promise<readonly IndexEntry[]>, reference: string): Promise<ResolvedModel> => {
    const entries = await reading;
    let known = resolutions.get(entries);
    if (!known || known.size >= maxKeptResolutions) resolutions.set(entries, (known = new Map()));
    const kept = known.get(reference);
    if (kept) return kept;
    const resolution = (async () => {
      const parsed = parseModelReference(reference);
      const model = await findIn(entries, parsed);
      const name = parsed.kind === "name" ? parsed : model.tags[0];
      return resolved(model, String(name ?? model.id), await modelSummary(model.id, model.parts), await modelPaths(model.id, model.parts));
    })();
    // Only models found are kept: names of none are the client's to invent.
    known.set(reference, resolution);
    resolution.catch(() => known.delete(reference));
    return resolution;
  };

  const store: ModelStore = {
    layout,
    async models() {
      return Promise.all((await index.read()).map(toStored));
    },
    find,

    resolve(reference) {
      // A reference resolved while the index is the same is answered without a turn of the event loop.
      const entries = index.kept();
      return (entries && resolutions.get(entries)?.get(reference)) ?? resolveIn(index.read(), reference);
    },

    async list() {
      const models = await store.models();
      const views = await Promise.all(
        models.map(async (model) => {
          const [info, paths] = await Promise.all([modelSummary(model.id, model.parts), modelPaths(model.id, model.parts)]);
          return model.tags.map((tag) => resolved(model, String(tag), info, paths));
        }),
      );
      return views.flat();
    },

    async commit(manifest, tags) {
      const blobs = manifestBlobs(manifest.manifest);
      const description = describeManifest(manifest, await readBlob(manifest.manifest.config));
      await modelSummary(manifest.digest, description.parts); // a listed model's headers parse: GGUFParseError or SafetensorsParseError otherwise
      const id = manifest.digest;
      await writeFileAtomic(layout.manifest(id), manifest.bytes, layout.tmpDir);
      const created = new Date();
      const entry = await index.update(async (entries) => {
        // Checked under the lock, so a concurrent delete cannot take a blob this model needs.
        for (const blob of blobs) {
          if (!(await hasBlob(blob.digest, blob.size))) throw new Error(`blob ${blob.digest} is missing from the store`);
        }
        const existing = entries.find((item) => item.id === id);
        const target = existing ?? { id, tags: [], files: [...new Set(blobs.map((blob) => blob.digest))], created: created.toISOString() };
        const change = retag(entries, target, tags.map((tag) => tag.canonical));
        return { ...change, result: change.entries.find((item) => item.id === id)! };
      });
      return toStored(entry);
    },

    async tag(source, target) {
      const model = await find(source);
      const entry = await index.update((entries) => {
        const current = entries.find((item) => item.id === model.id);
        if (!current) throw new ModelNotFoundError(String(source));
        const change = retag(entries, current, [target.canonical]);
        return { ...change, result: change.entries.find((item) => item.id === model.id)! };
      });
      return toStored(entry);
    },

    async remove(reference) {
      const parsed = typeof reference === "string" ? parseModelReference(reference) : reference;
      const model = await find(parsed);
      await index.update((entries) => {
        const current = entries.find((item) => item.id === model.id);
        if (!current) throw new ModelNotFoundError(String(parsed));
        const tags = tagsAfterRemoval(parsed, current.tags);
        const others = entries.filter((item) => item.id !== model.id);
        if (tags.length > 0) return { entries: [...others, { ...current, tags }], result: undefined };
        return { entries: others, result: undefined, after: collect([current], others) };
      });
      return model;
    },

    receiveBlob(open, options = {}) {
      const { expected, onProgress, signal } = options;
      if (!expected) return receiveBlob(layout, open, options);
      // One writer per blob: concurrent pulls of models sharing it wait for the same download.
      return blobDownloads(
        expected.digest,
        (taskSignal, emit) => receiveBlob(layout, open, { ...options, signal: taskSignal, onProgress: emit }),
        { signal, onProgress: onProgress && ((completed) => onProgress(completed, expected.size)) },
      );
    },
    linkBlob: (path, options) => linkOrCopyBlob(layout, path, options),
    hasBlob,
    blobPath: (digest) => layout.blob(digest),
    readBlob,
    summary,

    async removeUnreferencedBlob(digest) {
      await index.update(async (entries) => ({
        entries,
        result: undefined,
        after: async () => {
          if (!entries.some((entry) => entry.files.includes(digest))) await rm(layout.blob(digest), { force: true });
        },
      }));
    },
  };

  const resolved = (model: StoredModel, name: string, info: GGUFModelInfo, paths: readonly [string, ...string[]]): ResolvedModel => ({
    name,
    id: model.id,
    format: model.parts.format,
    paths,
    summary: info,
    ...(model.parts.projector ? { projectorPath: layout.blob(model.parts.projector.digest) } : {}),
    size: model.size,
    modifiedAt: model.created,
  });

  return store;
}

/**
 * The tags a model keeps once `reference` is removed: the others when it is
 * one of several names, none when it is the last or names the model by ID
 * or digest (then the model goes).
 */
export function tagsAfterRemoval(reference: ModelReference, tags: readonly string[]): string[] {
  if (reference.kind !== "name" || reference.digest) return [];
  return tags.filter((tag) => tag !== reference.canonical);
}

function describeManifest(manifest: ManifestBlob, config: Uint8Array): Omit<StoredModel, "tags" | "created"> {
  const parts = modelParts(manifest.manifest);
  return {
    id: manifest.digest,
    manifest,
    facts: readModelFacts(manifest.manifest.config.mediaType, config),
    parts,
    size: manifest.manifest.layers.reduce((sum, layer) => sum + layer.size, 0),
  };
}

/** One promise per key; a failure is forgotten so the next call tries again. */
function memo<K, V>(cache: Map<K, Promise<V>>, key: K, load: () => Promise<V>): Promise<V> {
  let value = cache.get(key);
  if (!value) {
    value = load();
    value.catch(() => cache.delete(key));
    cache.set(key, value);
  }
  return value;
}

async function sweepScratch(dir: string): Promise<void> {
  const now = Date.now();
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (info && now - info.mtimeMs > staleScratchMs) await rm(path, { recursive: true, force: true });
  }
}
