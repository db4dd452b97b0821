/**
 * What `/api/chat` and `/api/generate` share: the request fields both take,
 * and how those become an OpenAI request for the engines layer.
 */
import * as v from "valibot";
import { jsonRecord } from "../inference/untrusted-json.ts";
import type { ReplyShape } from "./ollama-replies.ts";
import { badRequest, ModelEntries, requiredModel } from "./request-body.ts";
import { readRequestOptions } from "./request-options.ts";

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
  /** Answer with the prompt the request renders to, generating nothing. */
  _debug_render_only: v.nullish(v.boolean()),
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
  /** `options.num_ctx`. */
  readonly contextSize?: number;
  readonly ignoredOptions: readonly string[];
  /** Absent when there is nothing to generate: the request only loads (or unloads) the model. */
  readonly engine?: EngineRequest;
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
): { call: Omit<CompletionCall, "engine">; openai: Record<string, unknown> } {
  const options = readRequestOptions(fields.options ?? undefined);
  const call: Omit<CompletionCall, "engine"> = {
    model: requiredModel(fields),
    shape,
    stream: fields.stream ?? true,
    ignoredOptions: options.ignored,
    ...(fields.keep_alive == null ? {} : { keepAlive: fields.keep_alive }),
    ...(options.contextSize === undefined ? {} : { contextSize: options.contextSize }),
    ...(fields._debug_render_only ? { renderOnly: true } : {}),
  };
  const openai = {
    model: call.model,
    // Always streamed from the engine, even for `stream: false`: one path, aggregated at the end.
    stream: true,
    stream_options: { include_usage: true },
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
