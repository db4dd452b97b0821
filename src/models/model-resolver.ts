import { createHash } from "node:crypto";
import { stat } from "node:fs/promises";
import type { ModelFormat } from "../inference/model-format.ts";
import { readGGUF, summarizeGGUF, type GGUFModelInfo } from "./gguf.ts";

/** A model reference made concrete: which files to load, and what they hold. */
export interface ResolvedModel {
  /** Canonical reference, always tagged: `tiny:latest`. */
  readonly name: string;
  /** Identifies the content; two references to the same weights share it. */
  readonly id: string;
  /** Decides which backends can run it. */
  readonly format: ModelFormat;
  /** GGUF: the files, the main one first (shards follow in order). Safetensors: the model's directory. */
  readonly paths: readonly [string, ...string[]];
  /** The main file's GGUF header, summarized (for safetensors, what config.json and the tensor headers say). */
  readonly summary: GGUFModelInfo;
  /** The multimodal projector, for models that see images. */
  readonly projectorPath?: string;
  /** Bytes on disk, all files together. */
  readonly size: number;
  readonly modifiedAt: Date;
  /** The backend that should serve it when the request names none. */
  readonly backend?: string;
}

/**
 * How the loader turns references into files. The model store implements it
 * later; until then `createFixtureModelResolver` serves the generated fixtures.
 */
export interface ModelResolver {
  /**
   * Accepts a reference (`tiny`, `tiny:latest`) or a model's `id`.
   *
   * @throws ModelNotFoundError when nothing answers to it
   */
  resolve(reference: string): Promise<ResolvedModel>;
  list(): Promise<readonly ResolvedModel[]>;
}

/** No model answers to a reference. Maps to a 404. */
export class ModelNotFoundError extends Error {
  override readonly name = "ModelNotFoundError";
  constructor(readonly reference: string) {
    super(`model "${reference}" not found, try pulling it first`);
  }
}

/**
 * Canonical form of a reference: trimmed, the name lowercased, `:latest` when
 * no tag follows the last `/` (a `:` before it belongs to a registry port).
 *
 * @example normalizeModelReference(" Tiny ") // "tiny:latest"
 * @example normalizeModelReference("localhost:5000/a/b") // "localhost:5000/a/b:latest"
 */
export function normalizeModelReference(reference: string): string {
  const trimmed = reference.trim();
  const lastSlash = trimmed.lastIndexOf("/");
  const colon = trimmed.indexOf(":", lastSlash + 1);
  const name = colon === -1 ? trimmed : trimmed.slice(0, colon);
  const tag = colon === -1 ? "" : trimmed.slice(colon + 1);
  return `${name.toLowerCase()}:${tag || "latest"}`;
}

/** The generated test models, as `fixtures/generate.ts` hands them out. */
export interface FixtureModelPaths {
  readonly chat: string;
  readonly embedding: string;
  readonly draft: string;
  readonly tools: string;
}

export interface FixtureModelResolverOptions {
  /** Makes sure the fixtures exist (generating them once) and gives their paths. */
  readonly fixtures: () => Promise<FixtureModelPaths>;
  readonly backend?: string;
}

const fixtureNames = {
  "tiny:latest": "chat",
  "tiny-embed:latest": "embedding",
  "tiny-draft:latest": "draft",
  "tiny-tools:latest": "tools",
} as const satisfies Record<string, keyof FixtureModelPaths>;

type FixtureName = keyof typeof fixtureNames;

/**
 * Serves the generated fixtures as `tiny`, `tiny-embed`, `tiny-draft` and
 * `tiny-tools`: the interim model store, so a fresh machine can chat with
 * `tiny` before any pull. Summaries are read once per file.
 *
 * @example
 * const resolver = createFixtureModelResolver({ fixtures: ensureFixtureModels });
 * await resolver.resolve("tiny"); // { name: "tiny:latest", paths: [".../chat.gguf"], ... }
 */
export function createFixtureModelResolver(options: FixtureModelResolverOptions): ModelResolver {
  const cache = new Map<FixtureName, Promise<ResolvedModel>>();

  const load = async (name: FixtureName): Promise<ResolvedModel> => {
    const path = (await options.fixtures())[fixtureNames[name]];
    const [info, gguf] = await Promise.all([stat(path), readGGUF(path)]);
    // The fixtures are regenerated deterministically, so path, size and time identify them.
    const id = `sha256:${createHash("sha256").update(`${path}\0${info.size}\0${info.mtimeMs}`).digest("hex")}`;
    return {
      name,
      id,
      format: "gguf",
      paths: [path],
      summary: summarizeGGUF(gguf),
      size: info.size,
      modifiedAt: info.mtime,
      ...(options.backend ? { backend: options.backend } : {}),
    };
  };

  const resolveName = (name: FixtureName): Promise<ResolvedModel> => {
    let model = cache.get(name);
    if (!model) {
      model = load(name);
      model.catch(() => cache.delete(name)); // a failed generation is retried next time
      cache.set(name, model);
    }
    return model;
  };

  const list = () => Promise.all(Object.keys(fixtureNames).filter(isFixtureName).map(resolveName));

  return {
    async resolve(reference) {
      const name = normalizeModelReference(reference);
      if (isFixtureName(name)) return resolveName(name);
      const byId = reference.startsWith("sha256:") ? (await list()).find((model) => model.id === reference) : undefined;
      if (!byId) throw new ModelNotFoundError(reference.trim());
      return byId;
    },
    list,
  };
}

function isFixtureName(name: string): name is FixtureName {
  return Object.hasOwn(fixtureNames, name);
}
