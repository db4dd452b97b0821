/**
 * The engines contract (`src/engines/engines.ts`) served here: a request is
 * routed by its `model` (and the caller's backend, and the path's mode) to
 * an external engine or to a local runner, loaded on demand, and the
 * runner's bytes stream back untouched but for the model's name, which is
 * echoed as the client wrote it.
 */
import * as v from "valibot";
import type { BackendMode } from "../inference/backend-mode.ts";
import { EngineRefusal, type EngineCall, type EngineModel, type EnginePath, type EngineReply, type EngineRunner, type Engines } from "../engines/engines.ts";
import { resolvedCapabilities } from "../models/capabilities.ts";
import { ModelNotFoundError, normalizeModelReference, type ModelResolver, type ResolvedModel } from "../models/model-resolver.ts";
import { fitCompletionContext } from "./completion-context.ts";
import { fitEmbeddingInput } from "./embedding-input.ts";
import type { EngineMetrics, RequestObserver } from "./engine-metrics.ts";
import { bodyForEngine } from "./engine-model-name.ts";
import { engineRefusal } from "./engine-refusal.ts";
import { parseEngineRequest } from "./engine-request.ts";
import type { ExternalEngines } from "./external/external-engines.ts";
import { parseJsonBody } from "./json-body.ts";
import { BackendNotFoundError, type Lease, type Loader } from "./loader.ts";
import { modelEcho } from "./model-echo.ts";
import { BadRequestError, toOpenAIError } from "./openai-error.ts";
import { createRunnerMetrics } from "./runner-metrics.ts";
import { fitsOnRefusal, sendFittingOnRefusal } from "./fit-on-refusal.ts";
import { forwardToRunner, stopIfUnreachable, type ForwardLease, type ForwardObserver, type RunnerReply } from "./runner-proxy.ts";

export interface ScheduledEnginesOptions {
  readonly loader: Loader;
  readonly resolver: ModelResolver;
  readonly metrics?: EngineMetrics;
  /** Engines running elsewhere: their models are listed and served alongside the local ones. */
  readonly external?: ExternalEngines;
}

/** The mode each inference path runs in. */
export const engineModes: Readonly<Record<EnginePath, BackendMode>> = {
  "/v1/chat/completions": "completion",
  "/v1/completions": "completion",
  // llama-server's native Anthropic Messages API, which the Anthropic layer proxies to.
  "/v1/messages": "completion",
  "/v1/messages/count_tokens": "completion",
  // llama-server's own: fill-in-the-middle, and the template and tokenizer the Ollama layer asks for `context` (and `_debug_render_only`).
  "/infill": "completion",
  "/apply-template": "completion",
  "/tokenize": "completion",
  "/v1/embeddings": "embedding",
  "/v1/rerank": "reranking",
  "/rerank": "reranking",
  "/score": "reranking",
};

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

/** An inference body, for backends that adapt it (parsed once already: a JSON object). */
const JsonObjectSchema = v.record(v.string(), v.unknown());

const jsonHeaders = { "content-type": "application/json" };

/**
 * `name`, when the loader or an external engine serves it.
 *
 * @throws BackendNotFoundError for a backend nobody serves
 */
export function checkBackendName(name: string | undefined, loader: Pick<Loader, "backends">, external: ExternalEngines | undefined): string | undefined {
  if (name !== undefined && !loader.backends.has(name) && !external?.has(name)) throw new BackendNotFoundError(name);
  return name;
}

export function createScheduledEngines(options: ScheduledEnginesOptions): Engines {
  const { loader, resolver, external } = options;
  const runnerMetrics = options.metrics && createRunnerMetrics(options.metrics.registry, () => loader.runners());

  /** The model, resolved; an unknown or malformed reference is left to the loader, which answers it in its own words. */
  const refuseWithoutCompletion = async (reference: string, word: string) => {
    let known: ResolvedModel;
    try {
      known = await resolver.resolve(reference);
    } catch {
      return undefined;
    }
    if (!resolvedCapabilities(known).includes("completion")) throw new BadRequestError(`${JSON.stringify(reference)} does not support ${word}`);
    return known;
  };

  const knownLocally = (reference: string) =>
    resolver.resolve(reference).then(
      () => true,
      (error: unknown) => (error instanceof ModelNotFoundError ? false : Promise.reject(error)),
    );

  const checkedBackend = (name: string | undefined) => checkBackendName(name, loader, external);
  const servedBy = (backend: string | undefined) => (model: ResolvedModel) =>
    backend === undefined || model.backend === undefined || model.backend === backend;

  const send = async (call: EngineCall): Promise<EngineReply> => {
    const { path, signal, origin } = call;
    const mode = engineModes[path];
    const metrics = unmeteredPaths.has(path) ? undefined : options.metrics;
    const bytes = call.body instanceof Uint8Array ? call.body : Buffer.from(JSON.stringify(call.body));
    const { model, keepAliveMs, truncate: requestedTruncate, runnerOptions } = parseEngineRequest(call.body);
    const truncate = requestedTruncate ?? (call.truncateByDefault ? true : undefined);
    const forward = { method: "POST", path: path + (call.search ?? ""), headers: call.headers ?? jsonHeaders, signal };
    const routing = external?.route(model, call.backend, () => knownLocally(model));
    const remote = routing && (await routing);
    if (remote) {
      const observer = metrics?.request({ origin, model: remote.model, mode });
      return answered(await remote.forward({ ...forward, body: bytes, ...(observer ? { observer } : {}) }), 0, observer);
    }
    const word = completionWords[path];
    const resolved = word ? await refuseWithoutCompletion(model, word) : undefined;
    let lease: Lease;
    try {
      lease = await loader.acquire({ model, ...(resolved ? { resolved } : {}), backend: call.backend, mode, keepAliveMs, options: runnerOptions }, signal);
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
    const failedBeforeSending = (error: unknown): never => {
      const failure = signal.aborted ? error : (stopIfUnreachable(lease, error) ?? error); // asking its tokenizer may be the first to find the runner gone
      lease.release();
      observer?.settled?.(signal.aborted ? "cancelled" : "failed");
      throw failure;
    };
    /** Work on the request before the runner has it: a failure gives the lease back. A body at hand is not waited for. */
    const beforeSending = (work: () => Uint8Array | Promise<Uint8Array>): Uint8Array | Promise<Uint8Array> => {
      try {
        const done = work();
        return done instanceof Uint8Array ? done : done.catch(failedBeforeSending);
      } catch (error) {
        return failedBeforeSending(error);
      }
    };
    // A chat or a prompt goes at once, and is fitted to the context only if the engine refuses it for its length.
    const fitLater =
      truncate !== undefined && !backend?.adaptRequest && mode === "completion" && fitsOnRefusal(path, bytes, lease)
        ? async () => beforeSending(() => fitCompletionContext(path, bytes, truncate, lease, signal))
        : undefined;
    const sending = beforeSending(() => {
      if (backend?.adaptRequest) {
        const adapted = backend.adaptRequest({ path, model: lease.model.id, contextSize: lease.contextSize }, parseJsonBody(JsonObjectSchema, bytes));
        return Buffer.from(JSON.stringify(adapted));
      }
      if (truncate === undefined || mode === "reranking" || fitLater) return bytes;
      return mode === "embedding" ? fitEmbeddingInput(bytes, truncate, lease, signal) : fitCompletionContext(path, bytes, truncate, lease, signal);
    });
    const body = sending instanceof Uint8Array ? sending : await sending;
    const checksModelName = backend?.checksModelName ?? false;
    const echoes = model !== lease.model.name;
    const sendBody = (sent: Uint8Array, on: ForwardLease, heard: ForwardObserver | undefined) =>
      forwardToRunner(on, {
        ...forward,
        body: bodyForEngine(sent, model, lease, checksModelName),
        reuseConnections: true,
        ...(heard ? { observer: heard } : {}),
        ...(echoes ? { rewrite: modelEcho(lease.model.name, model) } : {}),
      });
    const reply = fitLater ? await sendFittingOnRefusal(body, { lease, observer, send: sendBody, fit: fitLater }) : await sendBody(body, lease, observer);
    // The name as the client wrote it changes the length.
    if (echoes) reply.headers.delete("content-length");
    return answered(reply, lease.loadDurationMs, observer);
  };

  return {
    async send(call) {
      try {
        return await send(call);
      } catch (error) {
        throw asRefusal(error, call.signal);
      }
    },

    async models(backend) {
      try {
        checkedBackend(backend);
      } catch (error) {
        throw asRefusal(error);
      }
      const remote = external?.models(backend) ?? [];
      // An external engine's name hides a local model's, as it does when routing.
      const hidden = new Set(remote.map((model) => normalizeModelReference(model.name)));
      const local = backend !== undefined && external?.has(backend) ? [] : (await resolver.list()).filter(servedBy(backend));
      const shown = local.filter((model) => !hidden.has(model.name));
      return [...shown.map(openAIModel), ...remote.map((model) => model.object as EngineModel)];
    },

    async model(reference, backend) {
      try {
        checkedBackend(backend);
        const remote = external?.find(reference, backend);
        if (remote) return remote.object as EngineModel;
        if (backend !== undefined && external?.has(backend)) throw new ModelNotFoundError(reference);
        const model = await resolver.resolve(reference);
        if (!servedBy(backend)(model)) throw new ModelNotFoundError(reference);
        return openAIModel(model);
      } catch (error) {
        throw asRefusal(error);
      }
    },

    runners: () =>
      loader.runners().map(
        (runner): EngineRunner => ({
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
        }),
      ),

    async unload(selector) {
      try {
        return await loader.unload(selector);
      } catch (error) {
        throw asRefusal(error);
      }
    },
  };
}

/** Whatever went wrong, as the contract's typed refusal. */
function asRefusal(error: unknown, signal?: AbortSignal): EngineRefusal {
  if (error instanceof EngineRefusal) return error;
  const { status, message, type, code } = toOpenAIError(error, signal);
  return new EngineRefusal(status, message, type, code, { cause: error });
}

/**
 * A 2xx reply as the contract hands it on.
 *
 * @throws EngineRefusal for the engine's refusal, in OpenAI's terms
 */
async function answered(reply: RunnerReply, loadDurationMs: number, observer: RequestObserver | undefined): Promise<EngineReply> {
  if (reply.status < 200 || reply.status >= 300) {
    const { status, message, type, code } = await engineRefusal(reply);
    throw new EngineRefusal(status, message, type, code);
  }
  return { ...reply, loadDurationMs, ...(observer ? { usage: observer.usage } : {}) };
}

/**
 * OpenAI's model object, with what Ollama's views need: the content digest,
 * the GGUF's context and embedding lengths, the chat template and the
 * capabilities derived from them.
 */
function openAIModel(model: ResolvedModel): EngineModel {
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
