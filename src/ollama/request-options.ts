/**
 * Ollama's `options` map, checked the way Ollama checks it (a known key of the
 * wrong type is a 400 with Ollama's own words; unknown keys, which clients
 * send plenty of, are ignored) and turned into the engine's sampling fields.
 */
import * as v from "valibot";
import type { RunnerOptions } from "../inference/runner-options.ts";

// Each message completes Ollama's `option "x" must be …`. A number the type
// cannot hold is refused too (Ollama's Go would wrap it around, or make it Inf).
const integer = v.nullish(v.pipe(v.number("of type integer"), v.transform(Math.trunc), v.safeInteger("of type integer"))); // JSON numbers are floats; Ollama truncates
const maxFloat32 = 3.4028234663852886e38;
const float32 = v.nullish(v.pipe(v.number("of type float32"), v.check((value) => Math.abs(value) <= maxFloat32, "of type float32")));
const boolean = v.nullish(v.boolean("of type boolean"));
// Ollama demands an array; a lone string is plainly what was meant, so it is taken.
const strings = v.nullish(
  v.pipe(
    v.union([v.string(), v.array(v.string("of an array of strings"))], "of type array"),
    v.transform((value) => (typeof value === "string" ? [value] : value)),
  ),
);

/** Every option Ollama knows, with the type it demands. */
const OptionsSchema = v.object({
  num_keep: integer,
  seed: integer,
  num_predict: integer,
  top_k: integer,
  top_p: float32,
  min_p: float32,
  typical_p: float32,
  repeat_last_n: integer,
  temperature: float32,
  repeat_penalty: float32,
  presence_penalty: float32,
  frequency_penalty: float32,
  stop: strings,
  num_ctx: integer,
  num_batch: integer,
  num_gpu: integer,
  main_gpu: integer,
  use_mmap: boolean,
  num_thread: integer,
  draft_num_predict: integer,
});

type OptionName = keyof typeof OptionsSchema.entries;

/** The sampling fields llama-server reads from an OpenAI request (vLLM ignores the ones it lacks). */
export interface SamplingFields {
  temperature?: number;
  top_p?: number;
  top_k?: number;
  min_p?: number;
  typical_p?: number;
  repeat_penalty?: number;
  repeat_last_n?: number;
  presence_penalty?: number;
  frequency_penalty?: number;
  seed?: number;
  stop?: string[];
  max_tokens?: number;
  n_keep?: number;
}

export interface RequestOptions {
  readonly sampling: SamplingFields;
  /** The load-time options (`num_ctx`, `num_gpu`…): the runner this request needs. */
  readonly runner: RunnerOptions;
  /** Keys unknown to Ollama, which are ignored. */
  readonly ignored: readonly string[];
}

/** Passed through under the same name. */
const samplingNames = [
  "temperature",
  "top_p",
  "top_k",
  "min_p",
  "typical_p",
  "repeat_penalty",
  "repeat_last_n",
  "presence_penalty",
  "frequency_penalty",
  "stop",
] as const satisfies readonly (OptionName & keyof SamplingFields)[];

/** An option of the wrong type, in Ollama's words. */
export class InvalidOptionError extends Error {
  override readonly name = "InvalidOptionError";
}

/**
 * @example readRequestOptions({ temperature: 0, num_predict: 8, num_ctx: 512, mirostat: 0 })
 * // { sampling: { temperature: 0, max_tokens: 8 }, runner: { "context-size": 512 }, ignored: ["mirostat"] }
 * @throws InvalidOptionError when a known option has the wrong type
 */
export function readRequestOptions(input: Record<string, unknown> = {}): RequestOptions {
  const result = v.safeParse(OptionsSchema, input);
  if (!result.success) {
    const issue = result.issues[0];
    throw new InvalidOptionError(`option "${String(issue.path?.[0]?.key)}" must be ${issue.message}`);
  }
  const options = result.output;
  const sampling: SamplingFields = {};
  for (const name of samplingNames) {
    const value = options[name];
    if (value !== undefined && value !== null) (sampling as Record<string, unknown>)[name] = value;
  }
  // Ollama's -1 (endless) and -2 (fill the context) both mean "no limit" to an OpenAI engine.
  if (options.num_predict != null && options.num_predict >= 0) sampling.max_tokens = options.num_predict;
  // A negative seed is Ollama's "random", which is the engine's default.
  if (options.seed != null && options.seed >= 0) sampling.seed = options.seed;
  if (options.num_keep != null) sampling.n_keep = options.num_keep;
  const ignored = Object.keys(input).filter((key) => !(key in OptionsSchema.entries));
  return { sampling, runner: runnerOptions(options), ignored };
}

/**
 * The load-time options as Ollama passes them to llama-server
 * (`llm/llama_server.go`): a value meaning "automatic" (`num_gpu` -1,
 * `num_thread` 0, `num_batch` 0) is left out, so the runner's default holds.
 */
function runnerOptions(options: v.InferOutput<typeof OptionsSchema>): RunnerOptions {
  const { num_ctx, num_gpu, num_thread, num_batch, use_mmap, main_gpu, draft_num_predict } = options;
  const runner: { -readonly [K in keyof RunnerOptions]: RunnerOptions[K] } = {};
  // Ollama's scheduler gives no runner fewer than 4 tokens; more than an int32 is more than any engine takes.
  if (num_ctx != null) runner["context-size"] = Math.min(Math.max(num_ctx, minimumContext), 2 ** 31 - 1);
  if (num_gpu != null && num_gpu >= 0) runner["gpu-layers"] = num_gpu;
  if (num_thread != null && num_thread > 0) runner.threads = num_thread;
  if (num_batch != null && num_batch > 0) runner["batch-size"] = num_batch;
  if (use_mmap != null) runner.mmap = use_mmap;
  if (main_gpu != null) runner["main-gpu"] = main_gpu;
  if (draft_num_predict != null) runner["draft-tokens"] = Math.max(draft_num_predict, 0);
  return runner;
}

const minimumContext = 4;

/** The engines' `runner_options` field, absent when there are none (the runner of the defaults). */
export function runnerOptionsField(runner: RunnerOptions): { runner_options?: RunnerOptions } {
  return Object.keys(runner).length ? { runner_options: runner } : {};
}
