import type { Logger } from "pino";
import type { Dispatcher } from "undici";
import type { BackendConfiguration } from "../inference/backend-configuration.ts";
import type { BackendMode } from "../inference/backend-mode.ts";
import type { Backend } from "../inference/backend.ts";
import type { RequiredMemory } from "../inference/required-memory.ts";
import { withRunnerOptions, type RunnerOptions } from "../inference/runner-options.ts";
import type { ModelResolver, ResolvedModel } from "../models/model-resolver.ts";
import type { StoredConfiguration } from "../models/store/model-configurations.ts";
import { systemClock, type Clock } from "./clock.ts";
import { LoaderClosedError, RunnerBusyError, UnsupportedModelFormatError } from "./loader-errors.ts";
import {
  initialLoaderState,
  transition,
  type LoaderEffect,
  type LoaderEvent,
  type LoaderLimits,
  type Runner,
  type TimerId,
} from "./loader-machine.ts";
import { startRunnerProcess, type RunnerProcess } from "./runner-process.ts";
import { runnerSocketPath } from "./runners-dir.ts";
import { configurationIdentity, type RunnerKey } from "./runner-key.ts";
import { promiseMemo } from "../utilities/promise-memo.ts";

export interface LoaderOptions {
  /** The backends runners can use; the first is the default. */
  readonly backends: readonly [Backend, ...Backend[]];
  readonly resolver: ModelResolver;
  /** From `prepareRunnersDir`: where runner sockets live. */
  readonly runnersDir: string;
  readonly logger: Logger;
  /** Memory runners may use together (see `detectMemoryBudget`); unbounded by default. */
  readonly memory?: Partial<RequiredMemory>;
  /** Default: unbounded. */
  readonly maxLoadedRunners?: number;
  /** Default 512, as Ollama's `OLLAMA_MAX_QUEUE`. */
  readonly maxQueue?: number;
  /** Default 5 minutes. */
  readonly loadTimeoutMs?: number;
  /** Default 5 minutes; 0 unloads once idle, negative never. */
  readonly keepAliveMs?: number;
  readonly clock?: Clock;
  /** Hears runners come and go (for metrics). */
  readonly onRunnerEvent?: (event: RunnerEvent) => void;
  /** Where configurations persist; without it they last as long as the loader. */
  readonly configurations?: ConfigurationPersistence;
  /**
   * The context of a completion runner whose configuration and request set
   * none (`MODELGATE_CONTEXT_LENGTH`); without it the engine decides (llama.cpp:
   * the trained context, fitted to memory).
   */
  readonly defaultContextSize?: number;
}

/** Model configurations kept across restarts, by model id. */
export interface ConfigurationPersistence {
  /** What was stored before this start: in force from the first request. */
  readonly stored: ReadonlyMap<string, readonly StoredConfiguration[]>;
  /** Replaces what is stored for one model; a configuration applies only once this resolves. */
  save(modelId: string, configurations: readonly StoredConfiguration[]): Promise<void>;
}

/** A runner became ready, was unloaded, or died on its own. */
export interface RunnerEvent {
  readonly type: "loaded" | "unloaded" | "crashed";
  readonly slot: number;
  readonly backend: string;
  readonly model: string;
  readonly mode: BackendMode;
}

/** What a request wants served. */
export interface LoadTarget {
  /** A model reference, resolved through the resolver. */
  readonly model: string;
  /** `model` as the caller resolved it already for this request: not resolved (its store index checked) a second time. */
  readonly resolved?: ResolvedModel;
  /** A backend name; default: the model's hint, then the first backend serving its format. */
  readonly backend?: string;
  readonly mode: BackendMode;
  /** Sets the runner's keep-alive (ms; 0 unload once idle, negative forever). */
  readonly keepAliveMs?: number;
  /** Start settings of this request only: a runner with them serves it (see `withRunnerOptions`). */
  readonly options?: RunnerOptions;
}

/** A runner lent to one request. Release it once the response is over. */
export interface Lease {
  readonly slot: number;
  readonly backend: string;
  /** The model the runner serves. */
  readonly model: ResolvedModel;
  /** The model this request named, resolved: the same id under any of its names. */
  readonly requested: ResolvedModel;
  readonly mode: BackendMode;
  readonly dispatcher: Dispatcher;
  /** Aborted when the runner dies under the request; the reason carries the engine's error. */
  readonly signal: AbortSignal;
  /** How long this request waited for its runner to load; 0 when one was ready. */
  readonly loadDurationMs: number;
  /** Tokens of context each request gets (see `RunnerInfo`). */
  readonly contextSize: number | null;
  /** What the runner was started with; absent: the backend's defaults. */
  readonly config?: BackendConfiguration;
  /** Idempotent. */
  release(): void;
  /** The runner's socket does not answer though the engine lives: stop it, so the next request gets a fresh one. */
  unreachable(): void;
}

/** A runner as `/engines/ps` shows it. */
export interface RunnerInfo {
  readonly slot: number;
  readonly backend: string;
  readonly model: string;
  readonly modelId: string;
  readonly mode: BackendMode;
  readonly draft: string | null;
  readonly phase: Runner["phase"];
  readonly inUse: number;
  readonly lastUsed: Date;
  readonly keepAliveMs: number;
  readonly expiresAt: Date | null;
  readonly memory: RequiredMemory;
  /** Tokens of context each request gets: as the engine reports it, else as configured; null while loading or when unknown. */
  readonly contextSize: number | null;
  /** Reaches the runner's own endpoints (its metrics, for one). */
  readonly dispatcher: Dispatcher;
}

export interface ModelConfiguration {
  readonly model: string;
  readonly backend?: string;
  /** Default `completion`: configurations are kept per mode, as runners are. */
  readonly mode?: BackendMode;
  readonly keepAliveMs?: number;
  readonly config: BackendConfiguration;
}

/** Which configuration `configurationOf` reads: as `ModelConfiguration` names it. */
export type ConfigurationSelector = Pick<ModelConfiguration, "model" | "backend" | "mode">;

/** A model's configuration as it applies to the next runner started for it. */
export interface ConfigurationInForce {
  readonly model: ResolvedModel;
  readonly backend: string;
  readonly mode: BackendMode;
  /** Absent when none was set: the backend's defaults apply. */
  readonly stored?: StoredConfiguration;
  /** The runner's keep-alive: the stored one, else the loader's default. */
  readonly keepAliveMs: number;
}

export type UnloadSelector = { readonly all: true } | { readonly backend?: string; readonly models: readonly string[] };

export interface Loader {
  /**
   * Waits for a runner serving `target`, loading it if needed.
   *
   * @throws ModelNotFoundError, BackendNotFoundError, ModelTooLargeError,
   *   ServerBusyError, RunnerLoadError, LoaderClosedError, or `signal`'s reason
   */
  acquire(target: LoadTarget, signal?: AbortSignal): Promise<Lease>;
  /**
   * Sets (and persists) a model's configuration, reloading its idle runner
   * when it changed; an empty one returns the model to the defaults.
   */
  configure(configuration: ModelConfiguration): Promise<{ readonly changed: boolean }>;
  /** @throws ModelNotFoundError, BackendNotFoundError */
  configurationOf(selector: ConfigurationSelector): Promise<ConfigurationInForce>;
  /** Unloads matching idle runners (busy ones once idle); resolves with the count once the idle ones are gone. */
  unload(selector: UnloadSelector): Promise<number>;
  runners(): readonly RunnerInfo[];
  readonly backends: ReadonlyMap<string, Backend>;
  /**
   * The engine serving `socket` wrote to its log: a load still in progress
   * gets its full timeout again. Wire it to the backend's log hook.
   */
  engineOutput(socket: string): void;
  /** Refuses new requests, stops every runner and resolves once all are gone. */
  close(): Promise<void>;
}

/** A request names a backend that is not configured. Maps to a 404. */
export class BackendNotFoundError extends Error {
  override readonly name = "BackendNotFoundError";
  constructor(readonly backend: string) {
    super(`backend "${backend}" not found`);
  }
}

/** Everything a runner is started from, prepared before its demand is sent. */
interface Prepared {
  readonly backend: Backend;
  readonly model: ResolvedModel;
  readonly mode: BackendMode;
  readonly draft: ResolvedModel | null;
  readonly config: BackendConfiguration | undefined;
}

interface Waiter {
  resolve(lease: Omit<Lease, "loadDurationMs" | "requested">): void;
  reject(error: unknown): void;
}

interface Live {
  readonly prepared: Prepared;
  readonly socket: string;
  readonly process: RunnerProcess;
  /** Aborted with the engine's error when the runner dies under its requests. */
  readonly failure: AbortController;
  contextSize: number | null;
}

const minute = 60_000;

/**
 * The driver of the loader state machine: sends it events (requests, runner
 * readiness and exits, timers) and carries out its effects with real runner
 * processes and timers.
 *
 * @example
 * const loader = createLoader({ backends: [llamaCpp], resolver, runnersDir: await prepareRunnersDir(home), logger });
 * const lease = await loader.acquire({ model: "tiny", mode: "completion" });
 * try { ...forward to lease.dispatcher... } finally { lease.release(); }
 */
export function createLoader(options: LoaderOptions): Loader {
  const clock = options.clock ?? systemClock;
  const logger = options.logger.child({ component: "loader" });
  const backends = new Map(options.backends.map((backend) => [backend.name, backend]));
  const limits: LoaderLimits = {
    memory: { ram: options.memory?.ram ?? Infinity, vram: options.memory?.vram ?? Infinity },
    maxLoadedRunners: positive("maxLoadedRunners", options.maxLoadedRunners ?? Infinity),
    maxQueue: positive("maxQueue", options.maxQueue ?? 512),
    loadTimeoutMs: positive("loadTimeoutMs", options.loadTimeoutMs ?? 5 * minute),
    defaultKeepAliveMs: options.keepAliveMs ?? 5 * minute,
  };

  let state = initialLoaderState(limits);
  let nextDemandId = 1;
  const waiters = new Map<number, Waiter>();
  /** What each waiting demand would start a runner from; kept until it is granted, rejected or cancelled. */
  const preparations = new Map<number, Prepared>();
  const live = new Map<number, Live>();
  const timers = new Map<TimerId, unknown>();
  /** By `configurationKey`, with the model id each belongs to. */
  const configurations = new Map<string, StoredConfiguration & { readonly modelId: string }>();
  for (const [modelId, stored] of options.configurations?.stored ?? []) {
    for (const configuration of stored) {
      try {
        backends.get(configuration.backend)?.checkConfiguration?.(configuration.config);
      } catch (error) {
        logger.warn({ err: error, modelId, backend: configuration.backend }, "ignoring a stored configuration the backend refuses");
        continue;
      }
      configurations.set(configurationKey(configuration.backend, modelId, configuration.mode), { ...configuration, modelId });
    }
  }
  // Saves run one at a time, so the file ends as the last change left memory.
  let saving: Promise<unknown> = Promise.resolve();
  const memoryEstimates = promiseMemo<RequiredMemory>(1024);
  // Model ids are digests: what a model's context size runs as never changes.
  const runContextSizes = promiseMemo<number>(1024);
  /**
   * Bounds the estimates, which requests share: no deadline (the first one
   * may wait for the engine's build), only the loader's life. Each request
   * stops waiting when its own client leaves (`untilAborted`).
   */
  const closing = new AbortController();

  // Effects may lead to events (a rejected demand's caller releasing…): queue them, never nest transitions.
  const inbox: LoaderEvent[] = [];
  let dispatching = false;
  const dispatch = (event: LoaderEvent): void => {
    inbox.push(event);
    if (dispatching) return;
    dispatching = true;
    try {
      for (let next = inbox.shift(); next; next = inbox.shift()) {
        const result = transition(state, next, clock.now());
        state = result.state;
        result.effects.forEach(perform);
        if (next.type === "cancelled") preparations.delete(next.demandId);
      }
    } finally {
      dispatching = false;
    }
  };

  const perform = (effect: LoaderEffect): void => {
    switch (effect.type) {
      case "startRunner":
        return startRunner(effect.slot, effect.key, preparations.get(effect.demandId)!);
      case "stopRunner":
        logger.info({ slot: effect.slot }, "stopping runner");
        return live.get(effect.slot)?.process.stop();
      case "failInFlight":
        return live.get(effect.slot)?.failure.abort(effect.error);
      case "grant":
        return settle(effect.demandId)?.resolve(lease(effect.slot));
      case "reject":
        return settle(effect.demandId)?.reject(effect.error);
      case "setTimer":
        clearTimer(effect.timer);
        timers.set(effect.timer, clock.setTimeout(() => {
          timers.delete(effect.timer);
          dispatch({ type: "timerFired", timer: effect.timer });
        }, effect.delayMs));
        return;
      case "clearTimer":
        return clearTimer(effect.timer);
    }
  };

  const settle = (demandId: number): Waiter | undefined => {
    const waiter = waiters.get(demandId);
    waiters.delete(demandId);
    preparations.delete(demandId);
    return waiter;
  };

  const clearTimer = (timer: TimerId): void => {
    if (!timers.has(timer)) return;
    clock.clearTimeout(timers.get(timer));
    timers.delete(timer);
  };

  const startRunner = (slot: number, key: RunnerKey, prepared: Prepared): void => {
    const socket = runnerSocketPath(options.runnersDir, slot);
    const started = performance.now();
    const report = (type: RunnerEvent["type"]) =>
      options.onRunnerEvent?.({ type, slot, backend: key.backend, model: prepared.model.name, mode: key.mode });
    logger.info({ slot, backend: key.backend, model: prepared.model.name, mode: key.mode }, "starting runner");
    const process = startRunnerProcess({
      backend: prepared.backend,
      socket,
      logger,
      model: prepared.model.id,
      modelRef: prepared.model.name,
      mode: prepared.mode,
      ...(prepared.config ? { config: prepared.config } : {}),
      onReady: ({ contextSize }) => {
        runner.contextSize = contextSize ?? prepared.config?.["context-size"] ?? null;
        logger.info({ slot, model: prepared.model.name, ms: Math.round(performance.now() - started), contextSize: runner.contextSize }, "runner ready");
        report("loaded");
        dispatch({ type: "ready", slot });
      },
      onExit: (error) => {
        if (error) logger.warn({ slot, model: prepared.model.name, err: error }, "runner failed");
        report(error ? "crashed" : "unloaded");
        dispatch({ type: "exited", slot, error }); // may fail the runner's leases: forget it only after
        if (live.get(slot) === runner) live.delete(slot); // the exit may have started another runner in this slot
      },
    });
    const runner: Live = { prepared, socket, process, failure: new AbortController(), contextSize: null };
    live.set(slot, runner);
  };

  const lease = (slot: number): Omit<Lease, "loadDurationMs" | "requested"> => {
    const runner = live.get(slot)!;
    let released = false;
    return {
      slot,
      backend: runner.prepared.backend.name,
      model: runner.prepared.model,
      mode: runner.prepared.mode,
      dispatcher: runner.process.dispatcher,
      signal: runner.failure.signal,
      contextSize: runner.contextSize,
      ...(runner.prepared.config ? { config: runner.prepared.config } : {}),
      release: () => {
        if (released) return;
        released = true;
        // Once the runner is gone its requests no longer count, and the slot may serve another.
        if (live.get(slot) === runner) dispatch({ type: "released", slot });
      },
      unreachable: () => {
        if (live.get(slot) !== runner) return;
        logger.warn({ slot, model: runner.prepared.model.name, socket: runner.socket }, "the runner cannot be reached: stopping it");
        dispatch({ type: "unreachable", slot });
      },
    };
  };

  const pickBackend = (name: string | undefined, model: ResolvedModel): Backend => {
    const byFormat = options.backends.find((backend) => backend.formats?.includes(model.format));
    const chosen = name ?? model.backend ?? byFormat?.name ?? options.backends[0].name;
    const backend = backends.get(chosen);
    if (!backend) throw new BackendNotFoundError(chosen);
    if (backend.formats && !backend.formats.includes(model.format)) {
      throw new UnsupportedModelFormatError(`${backend.name} serves ${backend.formats.join(" and ")} models; ${model.name} is ${model.format.toUpperCase()}`);
    }
    return backend;
  };

  /** The memory `prepared` needs: known after a model's first request, a promise until then. */
  const estimateMemory = (prepared: Prepared): RequiredMemory | Promise<RequiredMemory> => {
    const key = JSON.stringify([prepared.backend.name, prepared.model.id, prepared.config ?? null]);
    return memoryEstimates.settled(key) ?? memoryEstimates(key, () => prepared.backend.requiredMemoryForModel(closing.signal, prepared.model.id, prepared.config));
  };

  /** What `asked` runs as (memoised: read once per model and size); undefined when the backend does not say. */
  const runContextSize = (backend: Backend, modelId: string, asked: number): number | Promise<number> | undefined => {
    if (!backend.runContextSize) return undefined;
    const key = `${backend.name}\0${modelId}\0${asked}`;
    return runContextSizes.settled(key) ?? runContextSizes(key, () => backend.runContextSize!(modelId, asked));
  };

  const prepare = async (target: LoadTarget): Promise<{ prepared: Prepared; key: RunnerKey; keepAliveMs: number | null }> => {
    const model = target.resolved ?? (await options.resolver.resolve(target.model));
    const backend = pickBackend(target.backend, model);
    const configuration = configurations.get(configurationKey(backend.name, model.id, target.mode));
    const draftReference = configuration?.config.speculative?.draft_model;
    const draft = draftReference ? await options.resolver.resolve(draftReference) : null;
    // Backends locate models by id; the configuration names the draft by reference.
    const standing =
      draft && configuration?.config.speculative
        ? { ...configuration.config, speculative: { ...configuration.config.speculative, draft_model: draft.id } }
        : configuration?.config;
    const contextSize = target.mode === "completion" && standing?.["context-size"] === undefined ? options.defaultContextSize : undefined;
    const requested = withRunnerOptions(standing, { ...(contextSize === undefined ? {} : { "context-size": contextSize }), ...target.options });
    const asked = requested?.["context-size"];
    // Keyed by the context the engine will run: 320 and 384 share llama-server's 512 runner.
    const runSize = asked !== undefined && requested ? runContextSize(backend, model.id, asked) : undefined;
    const config = runSize === undefined ? requested : { ...requested, "context-size": typeof runSize === "number" ? runSize : await runSize };
    if (config !== standing && config) backend.checkConfiguration?.(config);
    const drafting = config?.speculative ? draft : null; // a request's `draft-tokens: 0` turns it off
    const prepared: Prepared = { backend, model, mode: target.mode, draft: drafting, config };
    return {
      prepared,
      key: { backend: backend.name, model: model.id, mode: target.mode, draft: drafting?.id ?? null, config: configurationIdentity(config) },
      keepAliveMs: target.keepAliveMs ?? configuration?.keepAliveMs ?? null,
    };
  };

  const acquire = async (target: LoadTarget, signal?: AbortSignal): Promise<Lease> => {
    const arrived = performance.now();
    signal?.throwIfAborted();
    const { prepared, key, keepAliveMs } = await prepare(target);
    // Known after a model's first request: then nothing to wait for, nor to stop waiting for.
    const estimate = estimateMemory(prepared);
    const memory = estimate instanceof Promise ? await untilAborted(estimate, signal) : estimate;
    signal?.throwIfAborted();
    const id = nextDemandId++;
    // A ready runner is granted while the request is dispatched; any later grant waited for a load.
    let dispatched = false;
    let listening = false;
    return new Promise<Lease>((resolve, reject) => {
      const onAbort = () => {
        if (!waiters.delete(id)) return;
        dispatch({ type: "cancelled", demandId: id });
        reject(signal?.reason);
      };
      const stopListening = () => {
        if (listening) signal?.removeEventListener("abort", onAbort);
      };
      preparations.set(id, prepared);
      waiters.set(id, {
        resolve: (granted) => {
          stopListening();
          resolve({ ...granted, requested: prepared.model, loadDurationMs: dispatched ? performance.now() - arrived : 0 });
        },
        reject: (error) => {
          stopListening();
          reject(error);
        },
      });
      dispatch({ type: "requested", demand: { id, key, memory, keepAliveMs } });
      dispatched = true;
      // Granted or refused at once (a ready runner, a full queue): only a demand left waiting may be given up.
      if (signal && waiters.has(id)) {
        listening = true;
        signal.addEventListener("abort", onAbort, { once: true });
      }
    });
  };

  /** Dispatches `event` and waits for every runner it sent stopping to be gone. */
  const stopAndWait = async (event: LoaderEvent): Promise<number> => {
    const before = new Set(state.runners.filter((r) => r.phase === "stopping").map((r) => r.slot));
    dispatch(event);
    const stopping = state.runners.filter((r) => r.phase === "stopping" && !before.has(r.slot));
    await Promise.all(stopping.map((r) => live.get(r.slot)?.process.exited));
    return stopping.length;
  };

  const matchesModels = async (backend: string | undefined, references: readonly string[]) => {
    const resolved = await Promise.allSettled(references.map((reference) => options.resolver.resolve(reference)));
    const ids = new Set(resolved.flatMap((result) => (result.status === "fulfilled" ? [result.value.id] : [])));
    return (key: RunnerKey) => ids.has(key.model) && (backend === undefined || key.backend === backend);
  };

  return {
    acquire,
    backends,

    // Called for every line an engine writes, loaded or not: a loaded runner costs one look at its phase.
    engineOutput(socket) {
      for (const runner of state.runners) {
        if (runner.phase === "loading" && live.get(runner.slot)?.socket === socket) return dispatch({ type: "progressed", slot: runner.slot });
      }
    },

    async configure(configuration) {
      const model = await options.resolver.resolve(configuration.model);
      const backend = pickBackend(configuration.backend, model);
      backend.checkConfiguration?.(configuration.config);
      const draft = configuration.config.speculative?.draft_model;
      if (draft !== undefined) await options.resolver.resolve(draft); // unknown or malformed: refused now, not at the next load
      const mode = configuration.mode ?? "completion";
      const id = configurationKey(backend.name, model.id, mode);
      const next = {
        backend: backend.name,
        mode,
        modelId: model.id,
        config: configuration.config,
        ...(configuration.keepAliveMs === undefined ? {} : { keepAliveMs: configuration.keepAliveMs }),
      };
      const affected = (key: RunnerKey) => key.backend === backend.name && key.model === model.id && key.mode === mode;
      const comparable = (c: Pick<StoredConfiguration, "keepAliveMs" | "config"> | undefined) =>
        JSON.stringify([c?.config ?? {}, c?.keepAliveMs ?? null]);
      const apply = async (): Promise<boolean> => {
        if (comparable(configurations.get(id)) === comparable(next)) return false;
        const busy = state.runners.find((r) => affected(r.key) && (r.inUse > 0 || r.phase === "loading"));
        if (busy) throw new RunnerBusyError(`${model.name} is in use; try again once its requests are done`);
        const others = [...configurations].filter(([key, c]) => c.modelId === model.id && key !== id).map(([, c]) => c);
        await options.configurations?.save(model.id, (isEmpty(next) ? others : [...others, next]).map(stripModelId));
        if (isEmpty(next)) configurations.delete(id);
        else configurations.set(id, next);
        return true;
      };
      const applied = saving.then(apply);
      saving = applied.catch(() => undefined);
      if (!(await applied)) return { changed: false };
      await stopAndWait({ type: "unloadRequested", match: affected });
      return { changed: true };
    },

    async configurationOf(selector) {
      const model = await options.resolver.resolve(selector.model);
      const backend = pickBackend(selector.backend, model).name;
      const mode = selector.mode ?? "completion";
      const found = configurations.get(configurationKey(backend, model.id, mode));
      return { model, backend, mode, ...(found ? { stored: stripModelId(found) } : {}), keepAliveMs: found?.keepAliveMs ?? limits.defaultKeepAliveMs };
    },

    async unload(selector) {
      const match = "all" in selector ? () => true : await matchesModels(selector.backend, selector.models);
      const matching = state.runners.filter((r) => r.phase !== "stopping" && match(r.key)).length;
      await stopAndWait({ type: "unloadRequested", match });
      return matching;
    },

    runners: () =>
      state.runners.flatMap((runner) => {
        const running = live.get(runner.slot);
        if (!running) return [];
        const { prepared } = running;
        return [{
          slot: runner.slot,
          backend: runner.key.backend,
          model: prepared.model.name,
          modelId: prepared.model.id,
          mode: runner.key.mode,
          draft: prepared.draft?.name ?? null,
          phase: runner.phase,
          inUse: runner.inUse,
          lastUsed: new Date(runner.lastUsed),
          keepAliveMs: runner.keepAliveMs,
          expiresAt: runner.expiresAt === null ? null : new Date(runner.expiresAt),
          // What the engine reports it allocated, once it has; the estimate until then.
          memory: prepared.backend.runnerMemory?.(running.socket) ?? runner.memory,
          contextSize: running.contextSize,
          dispatcher: running.process.dispatcher,
        }];
      }),

    async close() {
      const all = [...live.values()].map((runner) => runner.process.exited);
      dispatch({ type: "closeRequested" });
      closing.abort(new LoaderClosedError());
      await Promise.all(all);
      for (const timer of [...timers.keys()]) clearTimer(timer);
    },
  };
}

function configurationKey(backend: string, modelId: string, mode: BackendMode): string {
  return `${backend}\0${modelId}\0${mode}`;
}

function stripModelId({ modelId: _, ...stored }: StoredConfiguration & { readonly modelId: string }): StoredConfiguration {
  return stored;
}

/** An empty configuration is the defaults: nothing to keep. */
function isEmpty(configuration: Pick<StoredConfiguration, "keepAliveMs" | "config">): boolean {
  return configuration.keepAliveMs === undefined && Object.keys(configuration.config).length === 0;
}

function positive(name: string, value: number): number {
  if (!(value >= 1)) throw new RangeError(`${name} must be at least 1, got ${value}`);
  return value;
}

/** `promise`, or `signal`'s reason as soon as it aborts: a shared estimate may wait for the engine's first build. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  signal.throwIfAborted();
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
  });
  return Promise.race([promise, aborted]).finally(() => signal.removeEventListener("abort", onAbort));
}
