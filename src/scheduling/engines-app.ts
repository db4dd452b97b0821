import { Hono, type Context } from "hono";
import type { Logger } from "pino";
import * as v from "valibot";
import { parseBackendConfiguration } from "../inference/backend-configuration.ts";
import { backendModes, type BackendMode } from "../inference/backend-mode.ts";
import { LoadDurationHeader } from "../inference/load-duration.ts";
import { KnownOrigins, OriginDirect, RequestOriginHeader } from "../inference/origin.ts";
import { modelCapabilities } from "../models/capabilities.ts";
import { ModelNotFoundError, normalizeModelReference, type ModelResolver, type ResolvedModel } from "../models/model-resolver.ts";
import { bodySizeLimit } from "../http/body-size-limit.ts";
import { configurationView } from "./configuration-view.ts";
import type { EngineMetrics } from "./engine-metrics.ts";
import { fitCompletionContext } from "./completion-context.ts";
import { fitEmbeddingInput } from "./embedding-input.ts";
import { bodyForEngine } from "./engine-model-name.ts";
import { KeepAliveSchema, ModelFieldSchema, keepAliveField, parseEngineRequest } from "./engine-request.ts";
import type { ExternalEngines } from "./external/external-engines.ts";
import { parseJsonBody, parseRequestInput } from "./json-body.ts";
import { BackendNotFoundError, type Lease, type Loader, type UnloadSelector } from "./loader.ts";
import { engineRefusal } from "./engine-refusal.ts";
import { echoRequestedModel } from "./model-echo.ts";
import { BadRequestError, openAIErrorResponse, toOpenAIError } from "./openai-error.ts";
import { createRunnerMetrics } from "./runner-metrics.ts";
import { forwardToRunner, stopIfUnreachable } from "./runner-proxy.ts";

export interface EnginesAppOptions {
  readonly loader: Loader;
  readonly resolver: ModelResolver;
  readonly logger: Logger;
  readonly metrics?: EngineMetrics;
  /** Largest request body accepted; default 64 MiB (images travel inline). */
  readonly maxBodyBytes?: number;
  /** Engines running elsewhere: their models are listed and served alongside the local ones. */
  readonly external?: ExternalEngines;
}

/** Inference paths, relative to the engines prefix (and a backend), with the mode each runs in. */
const inferenceRoutes: ReadonlyArray<readonly [path: string, mode: BackendMode]> = [
  ["/v1/chat/completions", "completion"],
  ["/v1/completions", "completion"],
  // llama-server's native Anthropic Messages API, which the Anthropic layer proxies to.
  ["/v1/messages", "completion"],
  ["/v1/messages/count_tokens", "completion"],
  // llama-server's own: fill-in-the-middle, and the template and tokenizer the Ollama layer asks for `context` (and `_debug_render_only`).
  ["/infill", "completion"],
  ["/apply-template", "completion"],
  ["/tokenize", "completion"],
  ["/v1/embeddings", "embedding"],
  ["/v1/rerank", "reranking"],
  ["/rerank", "reranking"],
  ["/score", "reranking"],
];

/** Paths the gateway asks on a request's behalf (its template, its token count): not inference requests of their own in the metrics. */
const unmeteredPaths: ReadonlySet<string> = new Set(["/apply-template", "/tokenize"]);

/**
 * The word of Ollama's refusal (`"tiny-embed" does not support chat`) for a
 * completion path and a model that generates nothing: refused before a runner
 * loads, as Ollama's OpenAI-compatible routes do, rather than a 500 from the engine.
 */
const completionWords: Readonly<Record<string, string>> = {
  "/v1/chat/completions": "chat",
  "/v1/messages": "chat",
  "/v1/messages/count_tokens": "chat",
  "/v1/completions": "generate",
};

/** Origins become metric labels: only the gateway's own, the rest folded into one. */
const knownOrigins = new Set(KnownOrigins);

const UnloadSchema = v.union([
  v.strictObject({ all: v.literal(true) }),
  v.strictObject({ backend: v.optional(v.string()), models: v.array(v.pipe(v.string(), v.maxLength(512))) }),
]);

const ModeFieldSchema = v.optional(v.picklist(backendModes, `mode must be one of ${backendModes.join(", ")}`));

const ConfigureFieldsSchema = v.looseObject({
  model: ModelFieldSchema,
  mode: ModeFieldSchema,
  keep_alive: v.optional(KeepAliveSchema),
});

/** An inference body, for backends that adapt it (parsed once already: a JSON object). */
const JsonObjectSchema = v.record(v.string(), v.unknown());

const ConfigurationQuerySchema = v.object({ model: ModelFieldSchema, mode: ModeFieldSchema });

/**
 * The engines API as a Hono app with relative routes: mount it with
 * `app.route("/engines", engines)` (and under `/exp/vDD4.40/engines`); its
 * `/v1/*` routes also serve the `/v1/*` alias as they are, e.g.
 * `app.all("/v1/*", (c) => engines.fetch(c.req.raw))`.
 *
 * Inference requests are routed by their `model` (and the path's backend and
 * mode) to a runner, loaded on demand, and streamed back untouched.
 */
/**
 * What the door a request came in by decides, passed as the env of the engines
 * app's `fetch`: the `/v1` alias is where Ollama's OpenAI-compatible API lives,
 * and there, as in Ollama, what does not fit the context is cut unless the
 * request says `truncate: false`. `/engines` leaves it to the engine.
 */
export interface EnginesDoor {
  readonly truncateByDefault?: boolean;
}

export function createEnginesApp(options: EnginesAppOptions): Hono {
  const { loader, resolver, external } = options;
  const logger = options.logger.child({ component: "engines" });
  const runnerMetrics = options.metrics && createRunnerMetrics(options.metrics.registry, () => loader.runners());
  const limit = bodySizeLimit({
    maxSize: options.maxBodyBytes ?? 64 * 1024 * 1024,
    onError: () =>
      openAIErrorResponse({ status: 413, message: "request body too large", type: "invalid_request_error", code: "request_too_large" }),
  });

  const app = new Hono();

  app.onError((error, c) => {
    const described = toOpenAIError(error, c.req.raw.signal);
    if (described.status >= 500) logger.warn({ err: error, path: c.req.path }, "engines request failed");
    return openAIErrorResponse(described);
  });
  app.notFound((c) =>
    openAIErrorResponse({ status: 404, message: `no route for ${c.req.method} ${c.req.path}`, type: "not_found_error", code: null }),
  );

  const infer = (path: string, mode: BackendMode) => async (c: Context) => {
    const metrics = unmeteredPaths.has(path) ? undefined : options.metrics;
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    const { model, keepAliveMs, truncate: requestedTruncate, runnerOptions } = parseEngineRequest(bytes);
    const truncate = requestedTruncate ?? ((c.env as EnginesDoor | undefined)?.truncateByDefault ? true : undefined);
    const signal = c.req.raw.signal;
    const originHeader = c.req.header(RequestOriginHeader);
    const origin = originHeader === undefined ? OriginDirect : knownOrigins.has(originHeader) ? originHeader : "other";
    const forward = { method: "POST", path: path + new URL(c.req.url).search, headers: c.req.raw.headers, signal };
    const remote = await external?.route(model, c.req.param("backend"), () => knownLocally(model));
    if (remote) {
      const observer = metrics?.request({ origin, model: remote.model, mode });
      return inOpenAIWords(await remote.forward({ ...forward, body: bytes, ...(observer ? { observer } : {}) }));
    }
    const word = completionWords[path];
    if (word) await refuseWithoutCompletion(model, word);
    let lease: Lease;
    try {
      lease = await loader.acquire({ model, backend: c.req.param("backend"), mode, keepAliveMs, options: runnerOptions }, signal);
    } catch (error) {
      // Only models that exist become labels, lest clients mint series at will.
      if (metrics) {
        const label = await resolver.resolve(model).then((known) => known.name, () => "unknown");
        metrics.request({ origin, model: label, mode }).settled?.(signal.aborted ? "cancelled" : "failed");
      }
      throw error;
    }
    void runnerMetrics?.learn(lease); // the first request to a runner makes its own metrics part of ours
    const observer = metrics?.request({ origin, model: lease.requested.name, mode });
    const backend = loader.backends.get(lease.backend);
    let body: Uint8Array = bytes;
    try {
      if (backend?.adaptRequest) {
        const adapted = backend.adaptRequest({ path, model: lease.model.id, contextSize: lease.contextSize }, parseJsonBody(JsonObjectSchema, bytes));
        body = new TextEncoder().encode(JSON.stringify(adapted));
      } else if (truncate !== undefined && mode !== "reranking") {
        body = mode === "embedding" ? await fitEmbeddingInput(bytes, truncate, lease, signal) : await fitCompletionContext(path, bytes, truncate, lease, signal);
      }
    } catch (error) {
      const failure = signal.aborted ? error : (stopIfUnreachable(lease, error) ?? error); // asking its tokenizer may be the first to find the runner gone
      lease.release();
      observer?.settled?.(signal.aborted ? "cancelled" : "failed");
      throw failure;
    }
    const checksModelName = backend?.checksModelName ?? false;
    const response = await forwardToRunner(lease, {
      ...forward,
      body: bodyForEngine(body, model, lease, checksModelName),
      reuseConnections: true,
      ...(observer ? { observer } : {}),
    });
    if (!response.ok) return inOpenAIWords(response);
    response.headers.set(LoadDurationHeader, lease.loadDurationMs.toFixed(3));
    return model === lease.model.name ? response : echoingModel(response, lease.model.name, model);
  };

  for (const [path, mode] of inferenceRoutes) app.post(path, limit, infer(path, mode));
  // After the plain paths, so `/v1/rerank` is never read as backend "v1".
  for (const [path, mode] of inferenceRoutes) app.post(`/:backend${path}`, limit, infer(path, mode));

  /** An unknown or malformed reference is left to the loader, which answers it in its own words. */
  const refuseWithoutCompletion = async (reference: string, word: string) => {
    const known = await resolver.resolve(reference).catch(() => undefined);
    if (known && !resolvedCapabilities(known).includes("completion")) throw new BadRequestError(`${JSON.stringify(reference)} does not support ${word}`);
  };

  const knownLocally = (reference: string) =>
    resolver.resolve(reference).then(
      () => true,
      (error: unknown) => (error instanceof ModelNotFoundError ? false : Promise.reject(error)),
    );

  const backendOf = (c: Context): string | undefined => {
    const name = c.req.param("backend");
    if (name !== undefined && !loader.backends.has(name) && !external?.has(name)) throw new BackendNotFoundError(name);
    return name;
  };
  const servedBy = (backend: string | undefined) => (model: ResolvedModel) =>
    backend === undefined || model.backend === undefined || model.backend === backend;

  const listModels = async (c: Context) => {
    const backend = backendOf(c);
    const remote = external?.models(backend) ?? [];
    // An external engine's name hides a local model's, as it does when routing.
    const hidden = new Set(remote.map((model) => normalizeModelReference(model.name)));
    const local = backend !== undefined && external?.has(backend) ? [] : (await resolver.list()).filter(servedBy(backend));
    const shown = local.filter((model) => !hidden.has(model.name));
    return c.json({ object: "list", data: [...shown.map(openAIModel), ...remote.map((model) => model.object)] });
  };
  const showModel = async (c: Context) => {
    const backend = backendOf(c);
    const reference = c.req.param("model") ?? "";
    const remote = external?.find(reference, backend);
    if (remote) return c.json(remote.object);
    if (backend !== undefined && external?.has(backend)) throw new ModelNotFoundError(reference);
    const model = await resolver.resolve(reference);
    if (!servedBy(backend)(model)) throw new ModelNotFoundError(reference);
    return c.json(openAIModel(model));
  };
  app.get("/v1/models", listModels);
  app.get("/:backend/v1/models", listModels);
  app.get("/v1/models/:model{.+}", showModel);
  app.get("/:backend/v1/models/:model{.+}", showModel);

  app.get("/status", (c) =>
    c.json({
      ...Object.fromEntries([...loader.backends.values()].map((backend) => [backend.name, backend.status()])),
      ...external?.status(),
    }),
  );

  app.get("/ps", (c) =>
    c.json(
      loader.runners().map((runner) => ({
        backend_name: runner.backend,
        model_name: runner.model,
        model_id: runner.modelId,
        mode: runner.mode,
        draft_model: runner.draft,
        slot: runner.slot,
        loading: runner.phase === "loading",
        stopping: runner.phase === "stopping",
        in_use: runner.inUse > 0,
        requests_in_flight: runner.inUse,
        last_used: runner.lastUsed.toISOString(),
        keep_alive_ms: runner.keepAliveMs,
        expires_at: runner.expiresAt?.toISOString() ?? null,
        size: runner.memory.ram,
        vram: runner.memory.vram,
        context_size: runner.contextSize,
      })),
    ),
  );

  app.get("/df", async (c) => {
    const [models, backends] = await Promise.all([
      resolver.list(),
      Promise.all([...loader.backends.values()].map(async (backend) => [backend.name, await backend.diskUsage()] as const)),
    ]);
    return c.json({
      models_disk_usage: models.reduce((sum, model) => sum + model.size, 0),
      default_backend_disk_usage: backends[0]?.[1] ?? 0,
      backends_disk_usage: Object.fromEntries(backends),
    });
  });

  app.post("/unload", limit, async (c) => {
    const selector: UnloadSelector = parseJsonBody(UnloadSchema, await c.req.arrayBuffer());
    return c.json({ unloaded_runners: await loader.unload(selector) });
  });

  const configure = async (c: Context) => {
    const backend = backendOf(c);
    const { model, mode, keep_alive, ...rest } = parseJsonBody(ConfigureFieldsSchema, await c.req.arrayBuffer());
    const keepAliveMs = keepAliveField(keep_alive);
    const config = parseBackendConfiguration(rest);
    const { changed } = await loader.configure({ model, backend, mode, keepAliveMs, config });
    return c.json({ model, changed });
  };
  app.post("/_configure", limit, configure);
  app.post("/:backend/_configure", limit, configure);

  const showConfiguration = async (c: Context) => {
    const backend = backendOf(c);
    const { model, mode } = parseRequestInput(ConfigurationQuerySchema, c.req.query());
    return c.json(configurationView(await loader.configurationOf({ model, backend, mode })));
  };
  app.get("/_configure", showConfiguration);
  app.get("/:backend/_configure", showConfiguration);

  return app;
}

/** A runner's refusal, whatever the engine's shape, as OpenAI's error object. */
async function inOpenAIWords(response: Response): Promise<Response> {
  return response.ok ? response : openAIErrorResponse(await engineRefusal(response));
}

/** The response with the model named as the client named it (its length changes with it). */
function echoingModel(response: Response, served: string, requested: string): Response {
  if (!response.body) return response;
  const headers = new Headers(response.headers);
  headers.delete("content-length");
  return new Response(echoRequestedModel(response.body, served, requested), { status: response.status, headers });
}

/**
 * OpenAI's model object, with what Ollama's views need: the content digest,
 * the GGUF's context and embedding lengths, the chat template and the
 * capabilities derived from them.
 */
function openAIModel(model: ResolvedModel) {
  const { summary } = model;
  return {
    id: model.name,
    object: "model",
    created: Math.floor(model.modifiedAt.getTime() / 1000),
    owned_by: "modelgate",
    digest: model.id,
    context_length: summary.contextLength ?? null,
    embedding_length: summary.embeddingLength ?? null,
    architecture: summary.architecture,
    parameters: summary.parameterCount ?? null,
    quantization: summary.quantization ?? null,
    size: model.size,
    capabilities: resolvedCapabilities(model),
    template: summary.chatTemplate ?? null,
  };
}

function resolvedCapabilities({ summary, projectorPath }: ResolvedModel) {
  return modelCapabilities({
    architecture: summary.architecture,
    ...(summary.poolingType === undefined ? {} : { poolingType: summary.poolingType }),
    ...(summary.chatTemplate === undefined ? {} : { chatTemplate: summary.chatTemplate }),
    fillInTheMiddle: summary.fillInTheMiddle ?? false,
    projector: projectorPath !== undefined,
  });
}
