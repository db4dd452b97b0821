/**
 * What `/api/chat` and `/api/generate` share: the request fields both take,
 * and how those become an OpenAI request for the engines layer.
 */
import * as v from "valibot";
import type { RunnerOptions } from "../inference/runner-options.ts";
import { jsonRecord } from "../inference/untrusted-json.ts";
import type { ReplyShape } from "./ollama-replies.ts";
import { badRequest, ModelEntries, requiredModel } from "./request-body.ts";
import { readRequestOptions, runnerOptionsField } from "./request-options.ts";

/** Ollama's levels; `max` is its newest, which OpenAI engines know as `high`. */
const thinkLevels = ["high", "medium", "low", "max"];

/** What a model must be able to do for a request, in `/api/show`'s words. */
export type Capability = "completion" | "tools" | "insert" | "vision";

/** Fields of both `/api/chat` and `/api/generate`. */
export const CompletionEntries = {
  ...ModelEntries,
  // Absent means streaming: Ollama's default, which curl users rely on.
  stream: v.nullish(v.boolean()),
  format: v.nullish(v.union([v.string(), jsonRecord(v.unknown())])),
  options: v.nullish(jsonRecord(v.unknown())),
  keep_alive: v.nullish(v.union([v.number(), v.string()])),
  // A bad value is refused in Ollama's words, once the body is read.
  think: v.nullish(v.union([v.boolean(), v.string()])),
  logprobs: v.nullish(v.boolean()),
  top_logprobs: v.nullish(v.pipe(v.number(), v.integer())),
  /** Default true: a history longer than the context loses its oldest messages; false refuses it. */
  truncate: v.nullish(v.boolean()),
  /** Default true: generation that fills the context shifts it; false stops with `done_reason: "length"`. */
  shift: v.nullish(v.boolean()),
  /** Answer with the prompt the request renders to, generating nothing. */
  _debug_render_only: v.nullish(v.boolean()),
};

type CompletionFields = v.InferOutput<v.ObjectSchema<typeof CompletionEntries, undefined>>;

/** An OpenAI request for one of the engines' endpoints. */
export interface EngineRequest {
  readonly path: "/v1/chat/completions" | "/v1/completions" | "/infill";
  readonly body: Readonly<Record<string, unknown>>;
}

/** An Ollama completion request, translated. */
export interface CompletionCall {
  /** As the client named it; replies echo it. */
  readonly model: string;
  readonly shape: ReplyShape;
  readonly stream: boolean;
  /** As the client sent it; the engines layer reads it. */
  readonly keepAlive?: number | string;
  /** The load-time options (`num_ctx`, `num_gpu`…, `shift`), as the engines layer reads them. */
  readonly runnerOptions: RunnerOptions;
  readonly ignoredOptions: readonly string[];
  /** What the model must be able to do (`completion` first, as Ollama checks it). */
  readonly capabilities: readonly Capability[];
  /** `think` is on (true or a level): the model must be able to think. */
  readonly thinks: boolean;
  /** Log probabilities asked for: how many alternatives per token (0 for none). */
  readonly logprobs?: { readonly top: number };
  /** Absent when there is nothing to generate: the request only loads (or unloads) the model. */
  readonly engine?: EngineRequest;
  /** `/api/generate` through the template: the token ids of the conversation it continues (`context`), maybe none. */
  readonly conversation?: { readonly previous: readonly number[] };
  /** `/api/generate`'s Go template for this request, in place of the model's. */
  readonly template?: string;
  /** `/api/generate`'s `raw`: the prompt goes to the model as it is. */
  readonly raw?: boolean;
  /** `_debug_render_only`: the rendered prompt is the answer. */
  readonly renderOnly?: boolean;
}

/**
 * The parts of a call every completion request yields, and the OpenAI fields they set.
 *
 * @throws InvalidOptionError, or HTTPException 400 on a bad format or a missing model
 */
export function translateCompletionFields(
  fields: CompletionFields,
  shape: ReplyShape,
  capabilities: readonly Capability[],
): { call: Omit<CompletionCall, "engine">; openai: Record<string, unknown> } {
  const top = fields.top_logprobs ?? 0;
  // Ollama checks this first, before even the model.
  if (top < 0 || top > 20) throw badRequest("top_logprobs must be between 0 and 20");
  const think = thinkValue(fields.think);
  const options = readRequestOptions(fields.options ?? undefined);
  const call: Omit<CompletionCall, "engine"> = {
    model: requiredModel(fields),
    shape,
    stream: fields.stream ?? true,
    ignoredOptions: options.ignored,
    runnerOptions: { ...options.runner, ...(fields.shift === false ? { "context-shift": false } : {}) },
    capabilities: ["completion", ...capabilities],
    thinks: think !== undefined && think !== false,
    ...(fields.logprobs ? { logprobs: { top } } : {}),
    ...(fields.keep_alive == null ? {} : { keepAlive: fields.keep_alive }),
    ...(fields._debug_render_only ? { renderOnly: true } : {}),
  };
  const openai = {
    model: call.model,
    // Always streamed from the engine, even for `stream: false`: one path, aggregated at the end.
    stream: true,
    stream_options: { include_usage: true },
    // Read by the engines layer, which fits the prompt to the runner's context.
    truncate: fields.truncate ?? true,
    ...runnerOptionsField(call.runnerOptions),
    ...options.sampling,
    ...responseFormat(fields.format),
    ...thinkFields(think),
    // llama-server's own field, which both endpoints read; at least one, or it computes none (the reply trims them).
    ...(fields.logprobs ? { n_probs: Math.max(1, top) } : {}),
  };
  return { call, openai };
}

/** @throws HTTPException 400 for a level Ollama does not know, in its words */
function thinkValue(think: CompletionFields["think"]): boolean | string | undefined {
  if (think == null || typeof think === "boolean" || thinkLevels.includes(think)) return think ?? undefined;
  throw badRequest(`invalid think value: ${JSON.stringify(think)} (must be "high", "medium", "low", "max", true, or false)`);
}

/** `"json"` → JSON mode; a JSON schema → the engine's schema-constrained output. */
function responseFormat(format: CompletionFields["format"]): Record<string, unknown> {
  if (format == null || format === "") return {};
  if (format === "json") return { response_format: { type: "json_object" } };
  if (typeof format === "string") throw badRequest(`invalid format "${format}": expected "json" or a JSON schema`);
  return { response_format: { type: "json_schema", json_schema: { name: "response", strict: true, schema: format } } };
}

/**
 * `think` in the terms chat templates (`enable_thinking`) and OpenAI engines
 * (`reasoning_effort`) understand; absent leaves the model's default.
 */
function thinkFields(think: boolean | string | undefined): Record<string, unknown> {
  if (think === undefined) return {};
  if (typeof think === "boolean") return { chat_template_kwargs: { enable_thinking: think } };
  return { chat_template_kwargs: { enable_thinking: true }, reasoning_effort: think === "max" ? "high" : think };
}
