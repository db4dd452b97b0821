/**
 * One event of an engine's OpenAI stream (a `chat.completion.chunk` or a
 * `text_completion` chunk), checked in place. Hand-written rather than a
 * valibot schema because it runs once per token: the schema took a fifth of
 * the stream translator's time (bench/ollama-overhead.ts). The rule is the
 * schema's: every field the translator reads has its type, or is absent or
 * null; other fields are not looked at.
 */

export interface Timings {
  readonly prompt_n: number;
  readonly prompt_ms: number;
  readonly predicted_n: number;
  readonly predicted_ms: number;
  readonly cache_n?: number;
}

export interface Usage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
}

export interface ToolCallDelta {
  /** Absent means 0. */
  readonly index?: number;
  readonly id?: string | null;
  readonly function?: { readonly name?: string | null; readonly arguments?: string | null } | null;
}

/** One token's probability, as llama-server reports it (OpenAI's shape); `top_logprobs` are its alternatives. */
export interface EngineLogprob {
  readonly token: string;
  readonly logprob: number;
  readonly bytes?: readonly number[] | null;
  readonly top_logprobs?: readonly EngineLogprob[] | null;
}

export interface Choice {
  /** Chat completions. */
  readonly delta?: {
    readonly content?: string | null;
    /** llama-server's name; vLLM and others say `reasoning`. */
    readonly reasoning_content?: string | null;
    readonly reasoning?: string | null;
    readonly tool_calls?: readonly ToolCallDelta[] | null;
  } | null;
  /** Plain completions. */
  readonly text?: string | null;
  readonly finish_reason?: string | null;
  /** vLLM's: the stop string (or token id) the engine met, when `finish_reason` is `stop`. */
  readonly stop_reason?: unknown;
  readonly logprobs?: { readonly content?: readonly EngineLogprob[] | null } | null;
}

export interface EngineChunk {
  readonly choices?: readonly Choice[] | null;
  readonly usage?: Usage | null;
  readonly timings?: Timings | null;
  /** Any value: the engine reports an error in the stream. */
  readonly error?: unknown;
  /** llama-server's native stream (`/infill`): the text, whether it is the last chunk, and why it stopped. */
  readonly content?: string | null;
  readonly stop?: boolean | null;
  readonly stop_type?: string | null;
  readonly completion_probabilities?: readonly EngineLogprob[] | null;
}

type Fields = Record<string, unknown>;

export function isEngineChunk(value: unknown): value is EngineChunk {
  return (
    isObject(value) &&
    nullishOr(value.choices, (choices) => arrayOf(choices, isChoice)) &&
    nullishOr(value.usage, isUsage) &&
    nullishOr(value.timings, isTimings) &&
    optionalString(value.content) &&
    optionalString(value.stop_type) &&
    nullishOr(value.stop, (stop) => typeof stop === "boolean") &&
    nullishOr(value.completion_probabilities, isLogprobList)
  );
}

function isChoice(value: unknown): value is Choice {
  return (
    isObject(value) &&
    optionalString(value.text) &&
    optionalString(value.finish_reason) &&
    nullishOr(value.delta, isDelta) &&
    nullishOr(value.logprobs, (logprobs) => isObject(logprobs) && nullishOr(logprobs.content, isLogprobList))
  );
}

function isLogprobList(value: unknown): boolean {
  return arrayOf(value, isLogprob);
}

function isLogprob(value: unknown): value is EngineLogprob {
  return (
    isObject(value) &&
    typeof value.token === "string" &&
    typeof value.logprob === "number" &&
    nullishOr(value.bytes, (bytes) => arrayOf(bytes, (byte) => typeof byte === "number")) &&
    nullishOr(value.top_logprobs, isLogprobList)
  );
}

function isDelta(value: unknown): boolean {
  return (
    isObject(value) &&
    optionalString(value.content) &&
    optionalString(value.reasoning_content) &&
    optionalString(value.reasoning) &&
    nullishOr(value.tool_calls, (calls) => arrayOf(calls, isToolCallDelta))
  );
}

function isToolCallDelta(value: unknown): value is ToolCallDelta {
  return (
    isObject(value) &&
    (value.index === undefined || typeof value.index === "number") &&
    optionalString(value.id) &&
    nullishOr(value.function, (fn) => isObject(fn) && optionalString(fn.name) && optionalString(fn.arguments))
  );
}

function isUsage(value: unknown): value is Usage {
  return isObject(value) && typeof value.prompt_tokens === "number" && typeof value.completion_tokens === "number";
}

function isTimings(value: unknown): value is Timings {
  return (
    isObject(value) &&
    typeof value.prompt_n === "number" &&
    typeof value.prompt_ms === "number" &&
    typeof value.predicted_n === "number" &&
    typeof value.predicted_ms === "number" &&
    (value.cache_n === undefined || typeof value.cache_n === "number")
  );
}

function isObject(value: unknown): value is Fields {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function optionalString(value: unknown): boolean {
  return value == null || typeof value === "string";
}

function arrayOf(value: unknown, check: (item: unknown) => boolean): boolean {
  return Array.isArray(value) && value.every(check);
}

function nullishOr(value: unknown, check: (value: unknown) => boolean): boolean {
  return value == null || check(value);
}
