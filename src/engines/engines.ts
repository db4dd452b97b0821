/**
 * The engines contract: what every dialect (Ollama, Anthropic, Responses)
 * and the `/engines` HTTP routes call to run a request on an engine. One
 * call resolves the model and leases a runner (loading it when needed),
 * sends the OpenAI-shaped request, and hands back the runner's bytes as a
 * Node stream; reading them to the end, or destroying the stream, releases
 * the runner. Refusals are typed (status, OpenAI's type and code, a
 * message), so each dialect words them itself. No HTTP in between.
 */
import type { Readable } from "node:stream";

/** Inference paths on an engine (relative to the engines prefix). */
export type EnginePath =
  | "/v1/chat/completions"
  | "/v1/completions"
  | "/v1/messages"
  | "/v1/messages/count_tokens"
  | "/infill"
  | "/apply-template"
  | "/tokenize"
  | "/v1/embeddings"
  | "/v1/rerank"
  | "/rerank"
  | "/score";

export interface EngineCall {
  readonly path: EnginePath;
  /** The OpenAI-shaped request (JSON), as an object or as the bytes a client sent. */
  readonly body: Readonly<Record<string, unknown>> | Uint8Array;
  /** Who asks (`ollama/completion`, `anthropic/messages`…): metrics count requests by it. */
  readonly origin: string;
  /** Aborting it stops the engine's work at once, and releases the runner. */
  readonly signal: AbortSignal;
  /** A backend named by the caller (`/engines/llama.cpp/v1/…`); absent picks the model's own. */
  readonly backend?: string;
  /** The query string sent on to the engine, `?` included. */
  readonly search?: string;
  /** Cut what does not fit the runner's context when the request does not say (`truncate`). */
  readonly truncateByDefault?: boolean;
  /** The request's `content-type` and `accept`, when a client sent them; JSON otherwise. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** An engine's answer (2xx), streaming. */
export interface EngineReply {
  readonly status: number;
  /** The engine's headers, hop-by-hop ones removed. */
  readonly headers: Headers;
  /** How long this request waited for its runner to load, in milliseconds (0 when it was loaded). */
  readonly loadDurationMs: number;
  /**
   * The engine's bytes as they arrive, never read ahead of the reader. Its end
   * releases the runner; destroying it early also cancels the engine's request.
   * A runner that dies mid event stream ends it with an OpenAI `error` event.
   */
  readonly body: Readable;
  /**
   * The tokens the engine's reply states, as the metrics read them while it
   * passed (final once `body` has ended); absent where nothing reads them.
   */
  readonly usage?: () => { readonly promptTokens: number; readonly completionTokens: number } | undefined;
}

/** A request the engines refuse, or an engine's refusal, in OpenAI's terms; each dialect words it. */
export class EngineRefusal extends Error {
  override readonly name = "EngineRefusal";
  constructor(
    readonly status: number,
    message: string,
    readonly type: "invalid_request_error" | "not_found_error" | "server_error" | "request_cancelled",
    /** OpenAI's code (`model_not_found`, `context_length_exceeded`…), or null. */
    readonly code: string | null,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A model as the engines list it: OpenAI's model object and what the gateway adds (an external engine's may hold less). */
export type EngineModel = Readonly<Record<string, unknown>> & { readonly id: string };

/** A runner, as `/engines/ps` shows it. */
export interface EngineRunner {
  readonly backend_name: string;
  readonly model_name: string;
  readonly model_id: string;
  readonly mode: string;
  readonly draft_model: string | null;
  readonly slot: number;
  readonly loading: boolean;
  readonly stopping: boolean;
  readonly in_use: boolean;
  readonly requests_in_flight: number;
  readonly last_used: string;
  readonly keep_alive_ms: number;
  readonly expires_at: string | null;
  readonly size: number;
  readonly vram: number;
  readonly context_size: number | null;
}

export interface Engines {
  /**
   * Resolves the model, leases a runner, sends the request and resolves once
   * the engine answers; the reply's body streams the rest.
   *
   * @throws EngineRefusal (a 404 `model_not_found` for an unknown model, the engine's own refusal…)
   */
  send(call: EngineCall): Promise<EngineReply>;
  /** Every model the engines serve, local and external (`backend` narrows it). */
  models(backend?: string): Promise<EngineModel[]>;
  /** @throws EngineRefusal 404 for a model no engine serves */
  model(reference: string, backend?: string): Promise<EngineModel>;
  runners(): EngineRunner[];
  /** Unloads the runners of these models (names or ids), or all; resolves with how many stopped. */
  unload(selector: { readonly all: true } | { readonly backend?: string; readonly models: readonly string[] }): Promise<number>;
}
