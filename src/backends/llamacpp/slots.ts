import { lastFlagValue, lastIntegerFlag, lastSwitch } from "./flag-values.ts";

/** llama-server's slots when `--parallel` is auto, its default: 4 sharing one unified cache. */
const autoSlots = 4;
const parallelFlags = ["-np", "--parallel"];

/** The slots a runner serves at once: the runtime flags' `--parallel N`, else llama-server's 4. */
function requestedSlots(runtimeFlags: readonly string[]): number {
  const parallel = lastIntegerFlag(runtimeFlags, parallelFlags);
  return parallel !== undefined && parallel > 0 ? parallel : autoSlots;
}

/**
 * A context size means what Ollama's `num_ctx` means: each request gets that
 * much, whatever the others on the runner do (server/sched.go loads
 * `num_ctx × parallel`). So `--ctx-size` is the total of every slot's, and an
 * explicit `--parallel` gives each slot a cache of its own: with `--parallel`
 * auto llama-server unifies them, and one long generation could starve the
 * others. With the context fixed (and every layer offloaded on a GPU),
 * `--fit` has nothing left to adjust, yet probing memory costs a second or
 * more per load. No context size: none of these, llama-server's defaults.
 */
export function contextArguments(contextSize: number | undefined, runtimeFlags: readonly string[]): string[] {
  if (contextSize === undefined) return [];
  const slots = requestedSlots(runtimeFlags);
  return ["--parallel", String(slots), "--ctx-size", String(contextSize * slots), "--fit", "off"];
}

/** A runner's KV cache, as llama-server lays it out. */
export interface KvCacheLayout {
  readonly slots: number;
  /** Cells of every slot together: the cache's size in tokens. */
  readonly cells: number;
  /** The cells one slot's attention spans: its own stream, or the whole of a unified cache. */
  readonly streamCells: number;
}

/**
 * What llama-server makes of modelgate's context arguments and the runtime
 * flags after them (so theirs win), read off that same command line, as its
 * logs show (`n_ctx`, `n_ctx_seq`, `kv_unified`): `--parallel` auto means 4 slots on a unified cache; a context of 0 (none
 * given) means the trained one per slot when `--fit` is on, else the trained
 * one in all; the total is padded to 256 cells, and a split cache's streams too.
 */
export function kvCacheLayout(contextSize: number | undefined, runtimeFlags: readonly string[], trainedContext: number): KvCacheLayout {
  const flags = [...contextArguments(contextSize, runtimeFlags), ...runtimeFlags];
  const parallel = lastIntegerFlag(flags, parallelFlags);
  const auto = parallel === undefined || parallel <= 0;
  const slots = auto ? autoSlots : parallel;
  const unified = auto || lastSwitch(flags, ["-kvu", "--kv-unified"], ["-no-kvu", "--no-kv-unified"]) === true;
  const asked = lastIntegerFlag(flags, ["-c", "--ctx-size"]) ?? 0;
  const fit = !falsey.has(lastFlagValue(flags, ["-fit", "--fit"]) ?? "on");
  const total = pad(asked > 0 ? asked : fit ? trainedContext * slots : trainedContext);
  if (unified) return { slots, cells: total, streamCells: total };
  const stream = pad(Math.floor(total / slots));
  return { slots, cells: stream * slots, streamCells: stream };
}

/** llama.cpp's words for "off" (`common_arg_utils::is_falsey`). */
const falsey = new Set(["off", "disabled", "false", "0"]);

/** `GGML_PAD(n, 256)`. */
function pad(cells: number): number {
  return Math.ceil(cells / contextPadding) * contextPadding;
}

/** llama.cpp pads a context up to a multiple of this. */
export const contextPadding = 256;
