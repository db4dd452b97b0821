/**
 * The model manager's HTTP API, Docker Model Runner's `/models` routes with
 * what Ollama's management calls need besides (blob uploads, create from
 * blobs): mount with `app.route("/models", createModelsApp({ store, logger }))`.
 * Pulls, pushes and creates stream NDJSON progress, `{status, digest?,
 * total?, completed?}` lines ending in `{"status":"success"}`, or an
 * `{"error"}` line when a failure comes after the first byte. Everything that
 * can be checked before streaming is, and fails as an HTTP error
 * `{"error": "..."}`. Importing a file by path is deliberately not offered
 * over HTTP.
 */
import { stat } from "node:fs/promises";
import { Readable } from "node:stream";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import { Hono, type Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Logger } from "pino";
import * as v from "valibot";
import { GGUFParseError } from "../inference/gguf-parse-error.ts";
import { jsonRecord, parseUntrustedJson } from "../inference/untrusted-json.ts";
import { readGGUF } from "./gguf.ts";
import { ggufModelInfo } from "./gguf-model-info.ts";
import { formatModelfile } from "./modelfile.ts";
import { HubError } from "./huggingface/hub-client.ts";
import { QuantizationNotFoundError } from "./huggingface/quant-selection.ts";
import { ModelNotFoundError } from "./model-resolver.ts";
import { SafetensorsParseError } from "./safetensors.ts";
import { layerText, storedLayers } from "./stored-models.ts";
import { InvalidReferenceError, parseModelReference, parseNamedReference, parseNewModelName, withTag, type NamedReference } from "./reference.ts";
import { RegistryAuthError } from "./registry/registry-auth.ts";
import { RegistryError } from "./registry/registry-client.ts";
import { RemoteRefusedError } from "./remote-policy.ts";
import { BlobSizeMismatchError, type StoredBlob } from "./store/blob-writer.ts";
import { DigestMismatchError, InvalidDigestError, parseDigest } from "./store/digest.ts";
import { InvalidManifestError } from "./store/manifest.ts";
import { buildModel, buildSafetensorsModel, type ModelExtras } from "./store/model-builder.ts";
import { createModelDistribution, type ModelDistribution } from "./store/model-distribution.ts";
import { NoWeightsError } from "./store/model-parts.ts";
import { tagsAfterRemoval, type ModelStore, type StoredModel } from "./store/model-store.ts";
import type { Progress, ProgressListener } from "./store/progress.ts";

export interface ModelsAppOptions {
  readonly store: ModelStore;
  readonly logger: Logger;
  /** Pulls and pushes; `createModelDistribution({ store })` by default. */
  readonly distribution?: ModelDistribution;
  /** Stops whatever runs a model before its last name (or its ID) is deleted: the scheduler's unload. */
  readonly unload?: (model: StoredModel) => Promise<void>;
}

const CreateRequestSchema = v.object({
  /** A model to pull (Docker Model Runner), or to build on (with `name`). */
  from: v.optional(v.string()),
  /** The model to create; without it, `from` is pulled under its own name. */
  name: v.optional(v.string()),
  /** File name → digest of an uploaded blob (`PUT /models/blobs/{digest}`). */
  files: v.optional(jsonRecord(v.string())),
  /** A Go template, as Ollama clients write them. */
  template: v.optional(v.string()),
  system: v.optional(v.string()),
  parameters: v.optional(jsonRecord(v.unknown())),
  license: v.optional(v.union([v.string(), v.array(v.string())])),
  /** Seed messages, stored as Ollama stores them: role and content. */
  messages: v.optional(v.array(v.object({ role: v.string(), content: v.optional(v.string(), "") }))),
  insecure: v.optional(v.boolean()),
});

const PushRequestSchema = v.optional(v.object({ insecure: v.optional(v.boolean()) }), {});

type CreateRequest = v.InferOutput<typeof CreateRequestSchema>;

/** Several GGUF files in one create must be the numbered shards of one model. */
const shardPattern = /-(\d{5})-of-(\d{5})\.gguf$/i;

export function createModelsApp(options: ModelsAppOptions): Hono {
  const { store } = options;
  const logger = options.logger.child({ component: "models" });
  const distribution = options.distribution ?? createModelDistribution({ store });

  const app = new Hono();
  app.onError((error, c) => {
    const status = errorStatus(error);
    if (status >= 500) logger.warn({ err: error, path: c.req.path }, "models request failed");
    return c.json({ error: error.message }, status);
  });

  app.get("/", async (c) => c.json((await store.models()).map(modelSummary)));

  // Hono answers HEAD with the GET route (body dropped): this is `HEAD /blobs/{digest}`.
  app.get("/blobs/:digest", async (c) => {
    const digest = parseDigest(c.req.param("digest"));
    return c.body(null, (await store.hasBlob(digest)) ? 200 : 404);
  });

  // Streamed to disk and verified on the way: never buffered. A blob the store has is
  // answered at once, 200, before its body is read, as Ollama's CreateBlobHandler does.
  app.put("/blobs/:digest", async (c) => {
    const digest = parseDigest(c.req.param("digest"));
    if (await store.hasBlob(digest)) return c.body(null, 200);
    const body = c.req.raw.body;
    if (!body) throw new HTTPException(400, { message: "missing request body" });
    await store.receiveBlob(async () => ({ offset: 0, body: Readable.fromWeb(body as NodeReadableStream<Uint8Array>) }), {
      expected: { digest },
      signal: c.req.raw.signal,
    });
    return c.body(null, 201);
  });

  app.post("/create", async (c) => {
    const request = await readJson(c, CreateRequestSchema);
    return progressResponse(c, logger, await planCreate(request));
  });

  app.post("/:name{.+}/tag", async (c) => {
    const target = tagTarget(c.req.param("name"), c.req.query("target"), c.req.query("repo"), c.req.query("tag"));
    const model = await store.tag(c.req.param("name"), target);
    return c.json(modelSummary(model), 201);
  });

  app.post("/:name{.+}/push", async (c) => {
    const { insecure } = await readJson(c, PushRequestSchema, { optional: true });
    const reference = parseNamedReference(c.req.param("name"));
    await store.find(reference); // a 404 before the stream starts
    return progressResponse(c, logger, (onProgress, signal) => distribution.push(reference, { onProgress, signal, insecure }));
  });

  app.delete("/:name{.+}", async (c) => {
    const reference = parseModelReference(c.req.param("name"));
    const model = await store.find(reference);
    // Runners are shared by every name of a model: stopped only when its last name goes.
    const lastName = tagsAfterRemoval(reference, model.tags.map((tag) => tag.canonical)).length === 0;
    if (lastName) await options.unload?.(model);
    const removed = await store.remove(reference);
    return c.json({ deleted: removed.id, untagged: String(reference) });
  });

  app.get("/:name{.+}", async (c) => {
    const flag = (name: string) => ["1", "true"].includes(c.req.query(name) ?? "");
    return c.json(await modelDetails(store, await store.find(c.req.param("name")), { metadata: flag("metadata"), verbose: flag("verbose") }));
  });

  /** Checks what can be checked up front, and returns the work to stream. */
  async function planCreate(request: CreateRequest): Promise<Transfer> {
    const extras = modelExtras(request);
    if (request.files && Object.keys(request.files).length > 0) {
      // Ollama's rule (fs.ValidPath): a name stays inside the model's directory.
      if (Object.keys(request.files).some((file) => !isPlainRelativePath(file))) throw new HTTPException(400, { message: "file path must be relative" });
      const name = parseNewModelName(required(request.name, "name is required with files"));
      if (Object.keys(request.files).some((file) => file.endsWith(".safetensors"))) {
        if (Object.keys(extras).length > 0) throw new HTTPException(400, { message: "template, system, parameters, license and messages apply to GGUF models only" });
        // Links and headers only, no copy: built at once, so a bad directory is an HTTP 400.
        const model = await buildSafetensorsModel(store, { files: await uploadedFiles(store, request.files), tags: [name] });
        return async (onProgress) => {
          onProgress({ status: "creating model" });
          return model;
        };
      }
      const weights = await uploadedWeights(store, request.files);
      return async (onProgress) => {
        onProgress({ status: "creating model" });
        return buildModel(store, { weights, extras, tags: [name] });
      };
    }
    const from = parseNamedReference(required(request.from, "from or files is required"));
    const name = request.name ? parseNewModelName(request.name) : undefined;
    // A pull always asks the registry for the manifest (only missing blobs are fetched); a create from a model found here does not.
    if (!name) return (onProgress, signal) => distribution.pull(from, { onProgress, signal, insecure: request.insecure });
    return async (onProgress, signal) => {
      const base = await store.find(from).catch(async (error: unknown) => {
        if (!(error instanceof ModelNotFoundError)) throw error;
        return distribution.pull(from, { onProgress, signal, insecure: request.insecure });
      });
      if (base.parts.format !== "gguf") throw new HTTPException(400, { message: `${String(from)} is a ${base.parts.format} model: copy it under a new name instead` });
      onProgress({ status: "creating model" });
      const [first, ...rest] = base.parts.weights;
      return buildModel(store, { weights: [first, ...rest], extras, base, tags: [name] });
    };
  }

  return app;
}

type Transfer = (onProgress: ProgressListener, signal: AbortSignal) => Promise<unknown>;

/**
 * NDJSON progress: each event as it happens, then `{"status":"success"}`, or
 * one `{"error"}` line (the log has the error whole, with what a remote
 * host's reply said). A client that leaves aborts the work (shared pulls go
 * on while anyone else waits).
 */
function progressResponse(c: Context, logger: Logger, work: Transfer): Response {
  const encoder = new TextEncoder();
  const controller = new AbortController();
  const clientSignal = c.req.raw.signal;
  const abort = () => controller.abort(clientSignal.reason);
  clientSignal.addEventListener("abort", abort, { once: true });
  const body = new ReadableStream<Uint8Array>({
    start(stream) {
      let open = true;
      const write = (line: Progress | { error: string }) => {
        if (open) stream.enqueue(encoder.encode(`${JSON.stringify(line)}\n`));
      };
      work(write, controller.signal)
        .then(
          () => write({ status: "success" }),
          (error: unknown) => {
            if (!controller.signal.aborted) logger.warn({ err: error, path: c.req.path }, "transfer failed");
            write({ error: (error as Error).message });
          },
        )
        .finally(() => {
          clientSignal.removeEventListener("abort", abort);
          if (open) stream.close();
          open = false;
        });
    },
    cancel(reason) {
      controller.abort(reason);
    },
  });
  return new Response(body, { headers: { "content-type": "application/x-ndjson" } });
}

/** The uploaded blobs named by `files` (a file name each), checked to be there. */
async function uploadedFiles(store: ModelStore, files: Record<string, string>): Promise<Map<string, StoredBlob>> {
  const uploaded = new Map<string, StoredBlob>();
  for (const name of Object.keys(files).sort()) {
    const digest = parseDigest(files[name]!);
    const size = await stat(store.blobPath(digest)).then(
      (info) => info.size,
      () => undefined,
    );
    if (size === undefined) throw new HTTPException(400, { message: `blob ${digest} (${name}) has not been uploaded` });
    uploaded.set(name, { digest, size });
  }
  return uploaded;
}

/** The uploaded blobs named by `files`, checked as GGUF before anything is created. */
async function uploadedWeights(store: ModelStore, files: Record<string, string>): Promise<[StoredBlob, ...StoredBlob[]]> {
  const names = Object.keys(files).sort();
  const unsupported = names.filter((name) => !name.toLowerCase().endsWith(".gguf"));
  if (unsupported.length > 0) throw new HTTPException(400, { message: `only GGUF and safetensors models are supported, not ${unsupported.join(", ")}` });
  if (names.length > 1 && !names.every((name) => shardPattern.test(name))) {
    throw new HTTPException(400, { message: "one GGUF file (or the shards of one) per model" });
  }
  const weights: StoredBlob[] = [];
  for (const { digest, size } of (await uploadedFiles(store, files)).values()) {
    // Not a model: refused, and the upload kept as Ollama keeps it (a client may retry the create).
    await readGGUF(store.blobPath(digest));
    weights.push({ digest, size });
  }
  return weights as [StoredBlob, ...StoredBlob[]];
}

function modelExtras(request: CreateRequest): ModelExtras {
  return {
    ...(request.template !== undefined ? { template: { text: request.template, syntax: "go" as const } } : {}),
    ...(request.system !== undefined ? { system: request.system } : {}),
    ...(request.parameters ? { parameters: request.parameters } : {}),
    ...(request.license !== undefined ? { licenses: typeof request.license === "string" ? [request.license] : request.license } : {}),
    ...(request.messages ? { messages: request.messages } : {}),
  };
}

/** `fs.ValidPath`: slash-separated, relative, no empty, `.` or `..` element, no backslash. */
function isPlainRelativePath(path: string): boolean {
  // eslint-disable-next-line no-control-regex
  if (path === "" || path.includes("\\") || /[\u0000-\u001f]/.test(path)) return false;
  return path.split("/").every((part) => part !== "" && part !== "." && part !== "..");
}

/** `?target=name:tag`, or Docker Model Runner's `?repo=name&tag=tag`. */
function tagTarget(source: string, target: string | undefined, repo: string | undefined, tag: string | undefined): NamedReference {
  // Checked whole: `sha256` with a hex tag reads as an ID.
  const retagged = (name: string, newTag: string) => parseNewModelName(String(withTag(parseNamedReference(name), newTag)));
  if (target) return parseNewModelName(target);
  if (repo) return tag ? retagged(repo, tag) : parseNewModelName(repo);
  if (tag) return retagged(source, tag);
  throw new HTTPException(400, { message: "target (or repo and tag) is required" });
}

/** Docker Model Runner's model object, with the size in bytes. */
function modelSummary(model: StoredModel) {
  const { facts } = model;
  return {
    id: model.id,
    tags: model.tags.map(String),
    created: Math.floor(model.created.getTime() / 1000),
    size: model.size,
    config: {
      format: facts.format,
      quantization: facts.quantization,
      parameters: facts.parameters,
      architecture: facts.architecture,
      ...(facts.contextSize ? { context_size: facts.contextSize } : {}),
    },
  };
}

interface DetailsOptions {
  /** The GGUF's key/values (and with `verbose` its tensors), read from the file. */
  readonly metadata?: boolean;
  readonly verbose?: boolean;
}

/** The summary, what the text layers say, and the Modelfile that builds it again. */
async function modelDetails(store: ModelStore, model: StoredModel, options: DetailsOptions = {}) {
  const { parts } = model;
  const [{ id: _id, ...layers }, licenses] = await Promise.all([
    storedLayers(store, model),
    Promise.all(parts.licenses.map((layer) => layerText(store, layer))),
  ]);
  const { template, system, parameters, messages } = layers;
  const paths = parts.weights.map((layer) => store.blobPath(layer.digest));
  const modelfile = formatModelfile({ from: paths[0]!, template, system, parameters, messages, licenses });
  return {
    ...modelSummary(model),
    manifest: model.manifest.manifest,
    ...layers,
    license: licenses,
    modelfile,
    paths,
    projector: parts.projector ? store.blobPath(parts.projector.digest) : undefined,
    ...(options.metadata && parts.format === "gguf" ? await ggufModelInfo(paths[0]!, options.verbose ?? false) : {}),
  };
}

async function readJson<const Schema extends v.GenericSchema>(
  c: Context,
  schema: Schema,
  { optional = false }: { optional?: boolean } = {},
): Promise<v.InferOutput<Schema>> {
  const text = await c.req.text();
  if (text.trim() === "" && !optional) throw new HTTPException(400, { message: "missing request body" });
  let json: unknown;
  try {
    json = text.trim() === "" ? undefined : parseUntrustedJson(text);
  } catch (error) {
    throw new HTTPException(400, { message: `invalid JSON: ${(error as Error).message}` });
  }
  const result = v.safeParse(schema, json);
  if (!result.success) {
    const issue = result.issues[0];
    const path = issue.path?.map((item) => String(item.key)).join(".");
    throw new HTTPException(400, { message: path ? `${path}: ${issue.message}` : issue.message });
  }
  return result.output;
}

function required(value: string | undefined, message: string): string {
  if (!value?.trim()) throw new HTTPException(400, { message });
  return value;
}

function errorStatus(error: Error): ContentfulStatusCode {
  if (error instanceof HTTPException) return error.status as ContentfulStatusCode;
  if (
    error instanceof InvalidReferenceError ||
    error instanceof InvalidDigestError ||
    error instanceof DigestMismatchError ||
    error instanceof BlobSizeMismatchError ||
    error instanceof GGUFParseError ||
    error instanceof SafetensorsParseError ||
    error instanceof NoWeightsError ||
    error instanceof InvalidManifestError
  ) {
    return 400;
  }
  if (error instanceof ModelNotFoundError || error instanceof QuantizationNotFoundError) return 404;
  if (error instanceof RegistryAuthError) return 401;
  if (error instanceof RemoteRefusedError) return 403;
  if (error instanceof RegistryError || error instanceof HubError) return error.status === 404 ? 404 : 502;
  return 500;
}
