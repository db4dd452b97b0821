import { ModelNotFoundError } from "../../models/model-resolver.ts";
import type { ForwardRequest, RunnerReply } from "../runner-proxy.ts";
import type { ExternalEngine, ExternalModel } from "./external-engine.ts";

/** Where an inference request for an external engine's model goes. */
export interface ExternalRoute {
  /** The model's name at the gateway (for metrics and logs). */
  readonly model: string;
  forward(request: ForwardRequest): Promise<RunnerReply>;
}

/** The external engines, as the engines layer consults them. */
export interface ExternalEngines {
  has(backend: string): boolean;
  /**
   * The external engine serving `reference`, when the path's `backend` names
   * one or names none. An unknown name polls the replicas again (for a model
   * deployed since) unless `knownLocally` says a local model answers to it.
   *
   * Undefined at once, not a promise, when no external engine is a candidate:
   * a local request does not wait a turn of the event loop for it.
   *
   * @throws ModelNotFoundError when `backend` names an external engine that does not serve it
   */
  route(reference: string, backend: string | undefined, knownLocally: () => Promise<boolean>): Promise<ExternalRoute | undefined> | undefined;
  /** The model answering to `reference` on one engine, or on any when `backend` is undefined, as last listed. */
  find(reference: string, backend: string | undefined): ExternalModel | undefined;
  /** The models of one engine, or of all when `backend` is undefined; none for a local backend. */
  models(backend: string | undefined): readonly ExternalModel[];
  /** Each engine's replicas and their health, by engine name. */
  status(): Record<string, string>;
  close(): Promise<void>;
}

/**
 * Routes requests among external engines by model name. A name an external
 * engine lists is served there, before any local model of the same name:
 * a `prefix` in the engine's configuration keeps the two apart.
 */
export function createExternalEngines(engines: readonly ExternalEngine[]): ExternalEngines {
  const byName = new Map(engines.map((engine) => [engine.name, engine]));
  const chosen = (backend: string | undefined) => (backend === undefined ? engines : [byName.get(backend)].filter((e) => e !== undefined));

  const findIn = (candidates: readonly ExternalEngine[], reference: string) => {
    for (const engine of candidates) {
      const model = engine.find(reference);
      if (model) return { engine, model };
    }
    return undefined;
  };
  const routeIn = (candidates: readonly ExternalEngine[], reference: string): ExternalRoute | undefined => {
    const found = findIn(candidates, reference);
    return found && { model: found.model.name, forward: (request) => found.engine.forward(found.model, request) };
  };

  const routeAmong = async (candidates: readonly ExternalEngine[], reference: string, backend: string | undefined, knownLocally: () => Promise<boolean>) => {
    const found = routeIn(candidates, reference);
    if (found) return found;
    if (backend === undefined && (await knownLocally())) return undefined;
    await Promise.all(candidates.map((engine) => engine.refresh()));
    const refreshed = routeIn(candidates, reference);
    if (!refreshed && backend !== undefined) throw new ModelNotFoundError(reference);
    return refreshed;
  };

  return {
    has: (backend) => byName.has(backend),

    route(reference, backend, knownLocally) {
      const candidates = chosen(backend);
      return candidates.length === 0 ? undefined : routeAmong(candidates, reference, backend, knownLocally);
    },

    find: (reference, backend) => findIn(chosen(backend), reference)?.model,

    models: (backend) => chosen(backend).flatMap((engine) => engine.models()),

    status: () => Object.fromEntries(engines.map((engine) => [engine.name, engine.status()])),

    close: async () => void (await Promise.all(engines.map((engine) => engine.close()))),
  };
}
