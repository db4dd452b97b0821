import type { Logger } from "pino";
import { request, type Dispatcher } from "undici";
import * as v from "valibot";
import { readBoundedText } from "../../http/bounded-read.ts";
import { normalizeModelReference } from "../../models/model-resolver.ts";
import { systemClock, type Clock } from "../clock.ts";
import { RunnerCrashedError } from "../loader-errors.ts";
import { forwardToRunner, type ForwardLease, type ForwardObserver, type ForwardRequest, type RunnerReply } from "../runner-proxy.ts";
import type { ExternalEngineConfig, RemoteUrl } from "./external-config.ts";
import type { ExternalMetrics } from "./external-metrics.ts";
import { NoReplicaAvailableError } from "./no-replica-error.ts";
import { externalModelObject, RemoteModelListSchema, type ExternalModelObject, type RemoteModel } from "./remote-models.ts";
import { createReplicaBalancer } from "./replica-balancer.ts";
import { createReplicaDispatcher, isConnectionFailure, reportingFailures } from "./replica-dispatcher.ts";

/** A model an external engine serves, as the gateway names it. */
export interface ExternalModel {
  /** The gateway's name: the engine's prefix and the remote's own name. */
  readonly name: string;
  /** What the replicas call it; requests are sent with this `model`. */
  readonly remoteId: string;
  /** As `/engines/v1/models` lists it. */
  readonly object: ExternalModelObject;
}

export interface ExternalEngine {
  readonly name: string;
  /** The seed's `Backend` flag: the engine manages its own models. */
  readonly usesExternalModelManagement: true;
  /** The model answering to `reference` (`x`, `x:latest`, any case), as the replicas last listed it. */
  find(reference: string): ExternalModel | undefined;
  models(): readonly ExternalModel[];
  /** Polls every replica now, unless a poll ended under a second ago; concurrent callers share one poll. */
  refresh(): Promise<void>;
  /**
   * Sends a request to the least busy replica serving `model`; one that
   * fails before answering (refused, reset) is marked down and the request
   * sent to the next. Once a replica answered, its response is the client's,
   * failures included.
   *
   * @throws NoReplicaAvailableError once no replica serving the model is up, or what `forwardToRunner` throws
   */
  forward(model: ExternalModel, request: ForwardRequest): Promise<RunnerReply>;
  /** Replicas and their health, for `/engines/status`. */
  status(): string;
  /** Stops polling and closes every connection. */
  close(): Promise<void>;
}

export interface ExternalEngineOptions {
  readonly config: ExternalEngineConfig;
  readonly logger: Logger;
  readonly metrics?: ExternalMetrics;
  readonly clock?: Clock;
}

interface Replica {
  readonly url: RemoteUrl;
  readonly dispatcher: Dispatcher;
  /** By remote name, as its last successful poll listed them; null before any. */
  models: ReadonlyMap<string, RemoteModel> | null;
}

/** A poll slower than this is given up; the replica keeps the health it had. */
const pollTimeoutMs = 10_000;
/** A model list is small; a replica that streams without end must not fill our memory. */
const maxModelListBytes = 16 * 1024 * 1024;
/** Requests for unknown models poll the replicas at most this often. */
const missRefreshMs = 1_000;

/**
 * An OpenAI-compatible engine running elsewhere, on one or more replicas:
 * each replica's `GET /v1/models` is polled (its health, and the models it
 * serves), requests go to the least busy replica up, through the same proxy
 * as local runners.
 */
export function createExternalEngine(options: ExternalEngineOptions): ExternalEngine {
  const { config, metrics } = options;
  const clock = options.clock ?? systemClock;
  const logger = options.logger.child({ component: "external engine", engine: config.name });
  const replicas: Replica[] = config.urls.map((url) => ({ url, dispatcher: createReplicaDispatcher(url, config.apiKey), models: null }));
  const balancer = createReplicaBalancer(replicas);
  const allowed = config.models && new Set(config.models.map(normalizeModelReference));
  const firstSeen = new Map<string, Date>();
  let byName = new Map<string, ExternalModel>();

  metrics?.watch(config.name, () => replicas.map((replica) => ({ url: replica.url.href, up: balancer.health(replica).up })));

  const markDown = (replica: Replica, reason: string) => {
    if (balancer.health(replica).up) logger.warn({ replica: replica.url.href, reason }, "replica down");
    balancer.markDown(replica, reason);
  };

  const poll = async (replica: Replica): Promise<void> => {
    try {
      const { statusCode, headers, body } = await request("http://replica/v1/models", {
        dispatcher: replica.dispatcher,
        signal: AbortSignal.timeout(pollTimeoutMs),
        reset: true, // a kept connection the replica is closing would read as a failure
      });
      if (statusCode !== 200) {
        await body.dump();
        throw new Error(`GET /v1/models answered ${statusCode}`);
      }
      const listing = v.safeParse(RemoteModelListSchema, JSON.parse(await readBoundedText(body, maxModelListBytes, headers["content-length"])));
      if (!listing.success) throw new Error("GET /v1/models answered something other than a model list");
      replica.models = new Map(listing.output.data.map((model) => [model.id, model]));
      if (!balancer.health(replica).up) logger.info({ replica: replica.url.href, models: [...replica.models.keys()] }, "replica up");
      balancer.markUp(replica);
    } catch (error) {
      // Busy is not down: a replica whose every HTTP thread streams answers late, yet serves.
      if ((error as Error).name === "TimeoutError") logger.debug({ replica: replica.url.href }, "replica slow to answer its health check");
      else markDown(replica, (error as Error).message);
    }
  };

  /** The models every replica listed last, allow-listed; the first replica's facts win. */
  const index = () => {
    const next = new Map<string, ExternalModel>();
    for (const remote of replicas.flatMap((replica) => [...(replica.models?.values() ?? [])])) {
      const name = config.prefix + remote.id;
      const key = normalizeModelReference(name);
      if (next.has(key) || (allowed && !allowed.has(normalizeModelReference(remote.id)))) continue;
      if (!firstSeen.has(remote.id)) firstSeen.set(remote.id, new Date(clock.now()));
      next.set(key, { name, remoteId: remote.id, object: externalModelObject(config.name, name, remote, firstSeen.get(remote.id)!) });
    }
    byName = next;
  };

  let polling: Promise<void> | undefined;
  let lastPollEnded = -Infinity;
  const pollAll = (): Promise<void> =>
    (polling ??= Promise.all(replicas.map(poll)).then(() => {
      index();
      lastPollEnded = clock.now();
      polling = undefined;
    }));

  let closed = false;
  let timer: unknown;
  const schedule = (): void => {
    if (closed) return;
    timer = clock.setTimeout(() => void pollAll().then(schedule), config.healthIntervalMs);
  };
  void pollAll().then(schedule);

  /** One try on one replica: its response, or the failure that lets the request try another. */
  const attempt = async (replica: Replica, model: ExternalModel, forward: ForwardRequest): Promise<RunnerReply | RunnerCrashedError> => {
    const failure = new AbortController();
    const observer = forward.observer;
    let answered = false;
    const identity = { id: model.object.digest, name: model.name };
    const lease: ForwardLease = {
      model: identity,
      requested: identity,
      dispatcher: reportingFailures(replica.dispatcher, (error) => {
        if (forward.signal.aborted || failure.signal.aborted) return;
        const why = (error as NodeJS.ErrnoException).code === "HPE_INVALID_EOF_STATE" ? "the connection closed mid-response" : error.message;
        const explained = new RunnerCrashedError(`external engine ${config.name}: replica ${replica.url.href} failed: ${why}`, { cause: error });
        failure.abort(explained);
        if (isConnectionFailure(error)) markDown(replica, error.message);
      }),
      signal: failure.signal,
      release: balancer.begin(replica),
    };
    // A try that fails before answering is not the request's outcome: another try may follow.
    const tryObserver: ForwardObserver | undefined = observer && {
      responded: (status, contentType) => {
        answered = true;
        observer.responded?.(status, contentType);
      },
      chunk: (chunk) => observer.chunk?.(chunk),
      settled: (outcome) => {
        if (answered) observer.settled?.(outcome);
      },
    };
    try {
      const response = await forwardToRunner(lease, { ...forward, ...(tryObserver ? { observer: tryObserver } : {}) });
      metrics?.attempt(config.name, replica.url.href, "answered");
      return response;
    } catch (error) {
      const reason: unknown = failure.signal.reason;
      if (!forward.signal.aborted && reason instanceof RunnerCrashedError && isConnectionFailure(reason.cause)) {
        metrics?.attempt(config.name, replica.url.href, "connection_failed");
        return reason;
      }
      observer?.settled?.(forward.signal.aborted ? "cancelled" : "failed");
      throw error;
    }
  };

  return {
    name: config.name,
    usesExternalModelManagement: true,

    find: (reference) => byName.get(normalizeModelReference(reference)),
    models: () => [...byName.values()],
    refresh: () => polling ?? (clock.now() - lastPollEnded < missRefreshMs ? Promise.resolve() : pollAll()),

    async forward(model, forward) {
      const body = forward.body && renameModel(forward.body, model.remoteId);
      const serves = (replica: Replica) => replica.models?.has(model.remoteId) ?? false;
      const tried = new Set<Replica>();
      for (;;) {
        const replica = balancer.pick(serves, tried);
        if (!replica) {
          forward.observer?.settled?.(forward.signal.aborted ? "cancelled" : "failed");
          const states = replicas.filter(serves).map((r) => `${r.url.href}: ${balancer.health(r).lastError ?? "down"}`);
          throw new NoReplicaAvailableError(`external engine ${config.name} has no replica up for ${model.name} (${states.join("; ")})`);
        }
        tried.add(replica);
        const outcome = await attempt(replica, model, { ...forward, body });
        if (!(outcome instanceof RunnerCrashedError)) return outcome;
        metrics?.failover(config.name);
        logger.warn({ replica: replica.url.href, model: model.name, reason: outcome.message }, "replica failed before answering; trying another");
      }
    },

    status() {
      const states = replicas.map((replica) => {
        const { up, outstanding, lastError } = balancer.health(replica);
        return `${replica.url.href} ${up ? `up, ${outstanding} in flight` : `down: ${lastError}`}`;
      });
      return `external, ${replicas.filter((replica) => balancer.health(replica).up).length}/${replicas.length} replicas up: ${states.join("; ")}`;
    },

    async close() {
      closed = true;
      clock.clearTimeout(timer);
      await Promise.all(replicas.map((replica) => replica.dispatcher.destroy().catch(() => {})));
    },
  };
}

/** The request body with `model` set to the replicas' name for it (the client may have said `x:latest`, or a prefixed name). */
function renameModel(body: Uint8Array, remoteId: string): Uint8Array {
  const json = JSON.parse(new TextDecoder().decode(body)) as Record<string, unknown>;
  return new TextEncoder().encode(JSON.stringify({ ...json, model: remoteId }));
}
