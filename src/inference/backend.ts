import type { BackendConfiguration } from "./backend-configuration.ts";
import type { BackendMode } from "./backend-mode.ts";
import type { ModelFormat } from "./model-format.ts";
import type { RequiredMemory } from "./required-memory.ts";

/** What `install` may use to reach the network; injectable so tests use local servers. */
export type HttpClient = typeof globalThis.fetch;

/** An inference request on its way to one of a backend's runners. */
export interface EngineRequestContext {
  /** The engine's path: `/v1/chat/completions`, `/v1/embeddings`… */
  readonly path: string;
  /** The model's id, as `run` was given it. */
  readonly model: string;
  /** Tokens of context the runner gives each request, when known. */
  readonly contextSize: number | null;
}

/**
 * An inference engine backend (llama.cpp, vLLM…). Implementations need not be
 * safe for concurrent calls of these methods; the servers they start must
 * serve concurrent API requests.
 */
export interface Backend {
  /** Lowercase, usable in a URL path and a socket file name; also shown to users. */
  readonly name: string;
  /** True when the engine manages its own models rather than the shared store. */
  readonly usesExternalModelManagement: boolean;
  /**
   * Refuses a configuration this engine would not start with (a runtime flag
   * it does not allow), so `/_configure` answers 400 instead of storing it.
   *
   * @throws InvalidConfigurationError
   */
  checkConfiguration?(config: BackendConfiguration): void;
  /**
   * The formats of store models it can run; absent for engines that manage
   * their own models. A model in another format is refused before anything starts.
   */
  readonly formats?: readonly ModelFormat[];
  /**
   * True when the engine refuses a request naming the model otherwise than it
   * was started with (vLLM answers 404): the gateway then names it by the
   * `modelRef` given to `run`, whichever of the model's names the client used.
   */
  readonly checksModelName?: boolean;
  /**
   * Rewrites a JSON request body into what this engine reads (its names for
   * sampling fields, its way to truncate), or refuses what it cannot honour.
   * Backends with it also take care of Ollama's `truncate` themselves.
   *
   * @throws UnsupportedRequestError
   */
  adaptRequest?(request: EngineRequestContext, body: Record<string, unknown>): Record<string, unknown>;
  /** Ensures the engine is installed; resolves at once when it already is. */
  install(signal: AbortSignal, http: HttpClient): Promise<void>;
  /**
   * Serves an OpenAI-compatible API on the Unix socket `socket` for one model.
   * One-shot: resolves only once `signal` is aborted and every process it
   * spawned has exited; rejects with the cause when a process fails; never
   * restarts. Requests naming another model are answered 421.
   */
  run(
    signal: AbortSignal,
    socket: string,
    model: string,
    modelRef: string,
    mode: BackendMode,
    config?: BackendConfiguration,
  ): Promise<void>;
  /** A short description of the backend's state, for users. */
  status(): string;
  /** Bytes the engine itself occupies on disk. */
  diskUsage(): Promise<number>;
  /**
   * Memory a running runner (by its socket) says it allocated, RAM and VRAM:
   * what `/api/ps` shows in place of the estimate once the engine reported it.
   */
  runnerMemory?(socket: string): RequiredMemory | undefined;
  /** Working memory the model would need with this configuration. */
  requiredMemoryForModel(signal: AbortSignal, model: string, config?: BackendConfiguration): Promise<RequiredMemory>;
  /**
   * The context size the engine runs a request for `requested` tokens at, so a
   * runner is keyed, and its memory estimated, by what it will run (Ollama caps
   * `num_ctx` at the trained context; llama-server pads it up).
   */
  runContextSize?(model: string, requested: number): Promise<number>;
}
