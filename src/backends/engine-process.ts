import { spawn } from "node:child_process";
import { once } from "node:events";
import { EngineCrashedError } from "./engine-crashed-error.ts";
import type { ExitDiagnosis } from "./exit-diagnosis.ts";
import { readLineBatches } from "../utilities/line-batches.ts";
import { LineTail } from "../utilities/line-tail.ts";
import { withParentDeathSignal } from "./parent-death-signal.ts";

export interface RunEngineOptions {
  /** The engine's name, for errors and logs. */
  readonly engine: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Between SIGTERM and SIGKILL when stopping. */
  readonly stopGraceMs?: number;
  /** Called once the process started, with its pid (also its process group id). */
  readonly onSpawn?: (pid: number, orphanProtected: boolean) => void;
  /** Each output line: as it comes, or within 50 ms once `outputBatchedAfter` has passed one. */
  readonly onStderrLine?: (line: string) => void;
  /**
   * The line after which the engine's output may be read in batches (it has
   * loaded; what it logged while loading, read at once, is what it reports of
   * itself). Without it, the output is read as it comes.
   */
  readonly outputBatchedAfter?: (line: string) => boolean;
  /**
   * Reads stdout as well as stderr, into the same lines: for engines that log
   * to stdout (vLLM's logger, vllm/envs.py VLLM_LOGGING_STREAM). Otherwise
   * stdout is discarded.
   */
  readonly captureStdout?: boolean;
  /** A readable cause for an unexpected exit, from the cause lines seen and the last output lines. */
  readonly diagnosis?: ExitDiagnosis;
}

/**
 * A loaded engine's output is read at most every 50 ms: llama-server logs
 * some thirty lines per request, one write each, and reading them as they
 * came woke the gateway as often as the reply's own tokens did.
 */
const engineOutputRestMs = 50;

/** Cause lines kept apart from the tail: the first few are enough to name it. */
const maxCauseLines = 20;

/**
 * Runs an engine process until `signal` aborts, then stops it: SIGTERM to its
 * whole process group, SIGKILL after the grace period. Resolves once it has
 * exited. If it exits on its own, rejects with an `EngineCrashedError`
 * carrying its last output lines and the cause, found in any line it wrote.
 * Never restarts it.
 */
export async function runEngineProcess(signal: AbortSignal, options: RunEngineOptions): Promise<void> {
  if (signal.aborted) return;
  const wrapped = await withParentDeathSignal(options.command, options.args);
  const child = spawn(wrapped.command, wrapped.args, {
    cwd: options.cwd,
    env: options.env,
    // Its own process group, so stopping reaches anything it forks.
    detached: true,
    stdio: ["ignore", options.captureStdout ? "pipe" : "ignore", "pipe"],
  });
  const tail = new LineTail({ maxLines: 50, maxBytes: 16 * 1024 });
  const causes: string[] = [];
  const onLine = (line: string) => {
    tail.push(line);
    if (causes.length < maxCauseLines && options.diagnosis?.isCause(line)) causes.push(line.slice(0, 2048));
    options.onStderrLine?.(line);
  };
  const batches = { restMs: engineOutputRestMs, restsAfter: options.outputBatchedAfter ?? (() => false) };
  readLineBatches(child.stderr!, onLine, batches);
  if (child.stdout) readLineBatches(child.stdout, onLine, batches);
  // 'close' rather than 'exit': it also waits for stderr to drain, so the tail is complete.
  const closed = once(child, "close") as Promise<[number | null, NodeJS.Signals | null]>;
  const spawned = once(child, "spawn");
  closed.catch(() => undefined); // a failed spawn rejects both; it is reported through `spawned`
  try {
    await spawned;
  } catch (error) {
    throw new EngineCrashedError({ engine: options.engine, exitCode: null, signal: null, diagnosis: `could not start: ${(error as Error).message}`, stderrTail: [] });
  }
  const pid = child.pid!;
  options.onSpawn?.(pid, wrapped.protected);

  let stopping = false;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = () => {
    stopping = true;
    signalGroup(pid, "SIGTERM");
    killTimer = setTimeout(() => signalGroup(pid, "SIGKILL"), options.stopGraceMs ?? 5000);
  };
  signal.addEventListener("abort", stop, { once: true });
  if (signal.aborted) stop(); // aborted while it was starting
  try {
    const [exitCode, exitSignal] = await closed;
    signalGroup(pid, "SIGKILL"); // anything the engine forked and left behind
    if (stopping) return;
    const exit = { exitCode, signal: exitSignal };
    const stderrTail = tail.lines();
    const diagnosis = options.diagnosis?.diagnose([...causes, ...stderrTail], exit);
    throw new EngineCrashedError({ engine: options.engine, ...exit, diagnosis, stderrTail });
  } finally {
    signal.removeEventListener("abort", stop);
    clearTimeout(killTimer);
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}
