/**
 * Errors as Anthropic's clients read them: `{"type": "error", "error": {"type", "message"}}`
 * with Anthropic's status codes, whatever went wrong underneath.
 */
import { HTTPException } from "hono/http-exception";
import { EngineRefusal } from "../engines/engines.ts";

export type AnthropicErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "not_found_error"
  | "request_too_large"
  | "api_error"
  | "overloaded_error";

export interface AnthropicError {
  readonly type: "error";
  readonly error: { readonly type: AnthropicErrorType; readonly message: string };
}

/** Anthropic's "overloaded", which its clients retry; the engines layer says 503 for a full queue. */
const overloaded = 529;

/** The status and body for `error`; an `HTTPException`'s or the engines' refusal's status picks the type, anything else is a 500. */
export function describeAnthropicError(error: unknown): AnthropicRefusal {
  const message = error instanceof Error ? error.message : String(error);
  const status = error instanceof HTTPException || error instanceof EngineRefusal ? error.status : 500;
  return anthropicRefusal(status, message);
}

export interface AnthropicRefusal {
  readonly status: number;
  readonly body: AnthropicError;
}

/** A refusal with `status` in Anthropic's terms (a 503 becomes its 529 `overloaded_error`). */
export function anthropicRefusal(status: number, message: string): AnthropicRefusal {
  const [type, answered] = errorType(status);
  return { status: answered, body: anthropicError(type, message) };
}

export function anthropicError(type: AnthropicErrorType, message: string): AnthropicError {
  return { type: "error", error: { type, message } };
}

function errorType(status: number): [AnthropicErrorType, number] {
  if (status === 401) return ["authentication_error", 401];
  if (status === 404) return ["not_found_error", 404];
  if (status === 413) return ["request_too_large", 413];
  if (status === 503 || status === overloaded) return ["overloaded_error", overloaded];
  if (status >= 400 && status < 500) return ["invalid_request_error", status];
  return ["api_error", 500];
}
