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

export const thinkLevels = ["low", "medium", "high"] as const;

/** Fields of both `/api/chat` and `/api/generate`. */
export const CompletionEntries = {
  ...ModelEntries,
  // Absent means streaming: Ollama's default, which curl users rely on.
  stream: v.nullish(v.boolean()),
  format: v.nullish(v.union([v.string(), jsonRecord(v.unknown())])),
  options: v.nullish(jsonRecord(v.unknown())),
  keep_alive: v.nullish(v.union([v.number(), v.string()])),
  think: v.nullish(v.union([v.boolean(), v.picklist(thinkLevels)])),
  /** Default true: a history longer than the context loses its oldest messages; false refuses it. */
  truncate: v.nullish(v.boolean()),
  /** Default true: generation that fills the context shifts it; false stops with `done_reason: "length"`. */
  shift: v.nullish(v.boolean()),
};

type CompletionFields = v.InferOutput<v.ObjectSchema<typeof CompletionEntries, undefined>>;

/** An OpenAI request for one of the engines' endpoints. */
export interface EngineRequest {
  readonly path: "/v1/chat/completions" | "/v1/completions";
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
  /** Absent when there is nothing to generate: the request only loads (or unloads) the model. */
  readonly engine?: EngineRequest;
}

/**
 * The parts of a call every completion request yields, and the OpenAI fields they set.
 *
 * @throws InvalidOptionError, or HTTPException 400 on a bad format or a missing model
 */
export function translateCompletionFields(
  fields: CompletionFields,
  shape: ReplyShape,
): { call: Omit<CompletionCall, "engine">; openai: Record<string, unknown> } {
  const options = readRequestOptions(fields.options ?? undefined);
  const call: Omit<CompletionCall, "engine"> = {
    model: requiredModel(fields),
    shape,
    stream: fields.stream ?? true,
    ignoredOptions: options.ignored,
    runnerOptions: { ...options.runner, ...(fields.shift === false ? { "context-shift": false } : {}) },
    ...(fields.keep_alive == null ? {} : { keepAlive: fields.keep_alive }),
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
    ...thinkFields(fields.think),
  };
  return { call, openai };
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
function thinkFields(think: CompletionFields["think"]): Record<string, unknown> {
  if (think == null) return {};
  if (typeof think === "boolean") return { chat_template_kwargs: { enable_thinking: think } };
  return { chat_template_kwargs: { enable_thinking: true }, reasoning_effort: think };
}
