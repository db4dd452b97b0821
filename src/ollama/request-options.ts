/**
 * Ollama's `options` map, checked the way Ollama checks it (a known key of the
 * wrong type is a 400 with Ollama's own words; unknown keys, which clients
 * send plenty of, are ignored) and turned into the engine's sampling fields.
 */
import * as v from "valibot";

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
  /** `num_ctx`: the context size the runner should have. */
  readonly contextSize?: number;
  /** Keys that were ignored: unknown to Ollama, or load-time settings the engines layer owns. */
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

/** Settings of a runner's start, not of one request; the engines layer decides them. */
const loadTimeNames = new Set<string>(["num_batch", "num_gpu", "main_gpu", "use_mmap", "num_thread"]);

/**
 * @example readRequestOptions({ temperature: 0, num_predict: 8, mirostat: 0 })
 * // { sampling: { temperature: 0, max_tokens: 8 }, ignored: ["mirostat"] }
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
  const ignored = Object.keys(input).filter((key) => !(key in OptionsSchema.entries) || loadTimeNames.has(key));
  const contextSize = options.num_ctx ?? undefined;
  return contextSize === undefined ? { sampling, ignored } : { sampling, contextSize, ignored };
}
