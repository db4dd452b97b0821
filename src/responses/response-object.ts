/**
 * The Response object and its output items, as the OpenAI Responses API
 * returns them (`GET /v1/responses/{id}`, and inside the stream's lifecycle
 * events), and the one place that starts one from its request.
 */
import { randomHex } from "../utilities/random-hex.ts";
import type { ResponsesRequest } from "./responses-request.ts";

export type ItemStatus = "in_progress" | "completed" | "incomplete";

export interface OutputText {
  readonly type: "output_text";
  readonly text: string;
  readonly annotations: never[];
  readonly logprobs: never[];
}

export interface ReasoningText {
  readonly type: "reasoning_text";
  readonly text: string;
}

export interface OutputMessage {
  readonly type: "message";
  readonly id: string;
  readonly role: "assistant";
  readonly status: ItemStatus;
  readonly content: OutputText[];
}

export interface ReasoningItem {
  readonly type: "reasoning";
  readonly id: string;
  readonly status: ItemStatus;
  readonly summary: never[];
  readonly content: ReasoningText[];
}

export interface FunctionCallItem {
  readonly type: "function_call";
  readonly id: string;
  readonly call_id: string;
  readonly name: string;
  readonly arguments: string;
  readonly status: ItemStatus;
}

export type OutputItem = OutputMessage | ReasoningItem | FunctionCallItem;

export interface ResponseUsage {
  readonly input_tokens: number;
  readonly input_tokens_details: { readonly cached_tokens: number; readonly cache_write_tokens: number };
  readonly output_tokens: number;
  readonly output_tokens_details: { readonly reasoning_tokens: number };
  readonly total_tokens: number;
}

/** A request's function tool as the response repeats it: every field present. */
export interface FunctionToolEcho {
  readonly type: "function";
  readonly name: string;
  readonly description: string | null;
  readonly parameters: Record<string, unknown> | null;
  readonly strict: boolean | null;
}

export type ResponseStatus = "in_progress" | "completed" | "incomplete" | "failed";

export interface ResponseObject {
  readonly id: string;
  readonly object: "response";
  readonly created_at: number;
  readonly status: ResponseStatus;
  readonly error: { readonly code: "server_error"; readonly message: string } | null;
  readonly incomplete_details: { readonly reason: "max_output_tokens" } | null;
  readonly model: string;
  readonly output: OutputItem[];
  /** Once the engine has counted (the client's types have no `null` here). */
  readonly usage?: ResponseUsage;
  readonly instructions: string | null;
  readonly previous_response_id: string | null;
  readonly max_output_tokens: number | null;
  readonly temperature: number | null;
  readonly top_p: number | null;
  readonly parallel_tool_calls: boolean;
  readonly tool_choice: NonNullable<ResponsesRequest["tool_choice"]>;
  readonly tools: FunctionToolEcho[];
  readonly text: { readonly format: NonNullable<NonNullable<ResponsesRequest["text"]>["format"]> };
  readonly reasoning: { readonly effort: NonNullable<ResponsesRequest["reasoning"]>["effort"] | null; readonly summary: null };
  readonly store: boolean;
  readonly truncation: "disabled";
  readonly metadata: Readonly<Record<string, string>>;
}

/** OpenAI's id forms: `resp_…`, `msg_…`, `fc_…`, `rs_…`, `call_…`, each with 48 hex digits. */
export function newId(prefix: "resp" | "msg" | "fc" | "rs" | "call"): string {
  return `${prefix}_${randomHex(24)}`;
}

/** A new response to `request`, in progress, with nothing output yet. */
export function startResponse(request: ResponsesRequest, id: string, createdAt: Date): ResponseObject {
  return {
    id,
    object: "response",
    created_at: Math.floor(createdAt.getTime() / 1000),
    status: "in_progress",
    error: null,
    incomplete_details: null,
    model: request.model,
    output: [],
    instructions: request.instructions ?? null,
    previous_response_id: request.previous_response_id ?? null,
    max_output_tokens: request.max_output_tokens ?? null,
    temperature: request.temperature ?? null,
    top_p: request.top_p ?? null,
    parallel_tool_calls: request.parallel_tool_calls ?? true,
    tool_choice: request.tool_choice ?? "auto",
    tools: (request.tools ?? []).map(({ name, description, parameters, strict }) => ({
      type: "function",
      name,
      description: description ?? null,
      parameters: parameters ?? null,
      strict: strict ?? null,
    })),
    text: { format: request.text?.format ?? { type: "text" } },
    reasoning: { effort: request.reasoning?.effort ?? null, summary: null },
    store: request.store ?? true,
    truncation: "disabled",
    metadata: request.metadata ?? {},
  };
}
