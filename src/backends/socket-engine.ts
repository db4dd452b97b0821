import { dirname } from "node:path";
import type { Logger } from "pino";
import type { BackendMode } from "../inference/index.ts";
import { runEngineProcess, type RunEngineOptions } from "./engine-process.ts";
import { clearSocketPath } from "./socket-path.ts";

/** Which runner a log line or a process belongs to. */
export interface EngineRunner {
  readonly model: string;
  /** The name the model was loaded as. */
  readonly modelRef: string;
  readonly mode: BackendMode;
  readonly socket: string;
}

/** What a backend running engines on sockets is given, besides its own settings. */
export interface EngineBackendOptions {
  readonly logger: Logger;
  /** Each stderr line of each runner. */
  readonly onLog?: (line: string, runner: EngineRunner) => void;
  /** Between SIGTERM and SIGKILL when a runner stops; 5 s by default. */
  readonly stopGraceMs?: number;
}

export interface SocketEngineOptions extends Omit<RunEngineOptions, "cwd"> {
  /** Already bound to the runner (model, mode). */
  readonly logger: Logger;
}

/**
 * Runs an engine serving on the Unix socket `socket` (see `runEngineProcess`),
 * in the socket's directory, with whatever stands at the socket's path
 * cleared before (it would stop the engine binding) and the socket removed
 * after. A path that cannot be cleared fails the run; one that cannot be
 * removed after is logged.
 */
export async function runSocketEngine(signal: AbortSignal, socket: string, options: SocketEngineOptions): Promise<void> {
  const { logger: log, engine } = options;
  try {
    const aside = await clearSocketPath(socket);
    if (aside) log.warn({ socket, movedTo: aside }, "a directory stood at the runner's socket path: moved aside");
  } catch (error) {
    log.error({ err: error, socket }, "cannot clear the runner's socket path");
    throw new Error(`${engine} cannot start: its socket path cannot be cleared (${(error as NodeJS.ErrnoException).code ?? "error"})`, { cause: error });
  }
  log.info({ binary: options.command, args: options.args }, `starting ${engine}`);
  try {
    await runEngineProcess(signal, {
      ...options,
      cwd: dirname(socket),
      onSpawn: (pid, orphanProtected) => {
        if (!orphanProtected) log.warn({ pid }, `setpriv not found: ${engine} would outlive a killed gateway`);
        options.onSpawn?.(pid, orphanProtected);
      },
    });
    log.info(`${engine} stopped`);
  } catch (error) {
    log.error({ err: error }, `${engine} failed`);
    throw error;
  } finally {
    await clearSocketPath(socket).catch((error: unknown) => log.error({ err: error, socket }, "cannot remove the runner's socket"));
  }
}
