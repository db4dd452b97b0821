import type { Logger } from "pino";
import { Agent, type Dispatcher } from "undici";
import type { BackendConfiguration } from "../inference/backend-configuration.ts";
import type { BackendMode } from "../inference/backend-mode.ts";
import type { Backend } from "../inference/backend.ts";
import { waitUntilHealthy } from "./health-check.ts";
import { queryRunnerContextSize } from "./runner-context-size.ts";
import { checkRunnerServes, ForeignRunnerError } from "./runner-identity.ts";
import { clearRunnerSocket } from "./runners-dir.ts";

export interface RunnerProcessOptions {
  readonly backend: Backend;
  readonly socket: string;
  /** Hears what goes wrong around the engine: a socket that cannot be removed, a foreign engine. */
  readonly logger: Logger;
  /** The model's id, as the backend locates it. */
  readonly model: string;
  readonly modelRef: string;
  readonly mode: BackendMode;
  readonly config?: BackendConfiguration;
  /** Called once the engine answers, with what it says of itself. */
  readonly onReady: (facts: RunnerFacts) => void;
  /** Called once the engine is gone; `error` unless it was stopped. */
  readonly onExit: (error: Error | null) => void;
}

/** What a ready engine reports about how it runs. */
export interface RunnerFacts {
  /** Tokens of context each request gets, when the engine says. */
  readonly contextSize: number | null;
}

export interface RunnerProcess {
  /** Reaches the runner's socket; destroyed once it has exited. */
  readonly dispatcher: Dispatcher;
  /** Asks the engine to stop; `exited` settles once it has. */
  stop(): void;
  readonly exited: Promise<void>;
}

/**
 * Starts a backend on a Unix socket and watches it: ready once `/health`
 * answers, the engine there says it serves this model (else it is stopped
 * and fails as foreign) and what context it gives; exited once the
 * backend's one-shot `run` settles, socket removed.
 */
export function startRunnerProcess(options: RunnerProcessOptions): RunnerProcess {
  const { backend, socket } = options;
  const stopper = new AbortController();
  const lifetime = new AbortController(); // ends health polling
  let refused: Error | undefined; // why the runner was stopped before it became ready
  // Idle connections are dropped well before llama-server's own 5 s keep-alive ends them.
  const dispatcher = new Agent({ connect: { socketPath: socket }, keepAliveTimeout: 2_000, keepAliveMaxTimeout: 2_000 });

  const running = Promise.resolve().then(() =>
    backend.run(stopper.signal, socket, options.model, options.modelRef, options.mode, options.config),
  );
  const exited = running
    .then(
      () => (stopper.signal.aborted ? (refused ?? null) : new Error(`${backend.name} exited on its own`)),
      (error: unknown) => (stopper.signal.aborted ? (refused ?? null) : toError(error)),
    )
    .then(async (error) => {
      lifetime.abort();
      await Promise.all([dispatcher.destroy().catch(() => {}), clearRunnerSocket(socket, options.logger).catch(() => {})]);
      options.onExit(error);
    });

  waitUntilHealthy(dispatcher, lifetime.signal)
    .then(() => checkRunnerServes(dispatcher, options.modelRef, lifetime.signal))
    .then(() => queryRunnerContextSize(dispatcher, lifetime.signal))
    .then(
      (contextSize) => options.onReady({ contextSize }),
      (error: unknown) => {
        if (!(error instanceof ForeignRunnerError)) return; // stopped or exited first: onExit tells the loader
        options.logger.error({ err: error, socket }, "a foreign engine answers on the runner's socket: stopping the runner");
        refused = error;
        stopper.abort();
      },
    );

  return {
    dispatcher,
    stop: () => stopper.abort(),
    exited,
  };
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
