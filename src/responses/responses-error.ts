/**
 * Errors as OpenAI's clients read them on the Responses API:
 * `{"error": {message, type, param, code}}`, with the status chosen by what
 * went wrong (an `HTTPException`'s own, else 500).
 */
import { HTTPException } from "hono/http-exception";
import { EngineRefusal } from "../engines/engines.ts";

export interface ResponsesError {
  readonly error: {
    readonly message: string;
    readonly type: "invalid_request_error" | "server_error";
    readonly param: string | null;
    readonly code: string | null;
  };
}

/** A refusal that names the request field at fault, and OpenAI's code for it. */
export class ResponsesRequestError extends HTTPException {
  constructor(
    status: 400 | 404,
    message: string,
    readonly param: string,
    readonly code: string,
  ) {
    super(status, { message });
  }
}

export function describeResponsesError(error: unknown): { status: number; body: ResponsesError } {
  const message = error instanceof Error ? error.message : String(error);
  const status = error instanceof HTTPException || error instanceof EngineRefusal ? error.status : 500;
  // The engines' code (`model_not_found`, `context_length_exceeded`) is OpenAI's own.
  const named = error instanceof ResponsesRequestError ? { param: error.param, code: error.code } : { param: null, code: error instanceof EngineRefusal ? error.code : null };
  const type = status < 500 ? "invalid_request_error" : "server_error";
  return { status, body: { error: { message, type, ...named } } };
}

/** `GET`/`DELETE` of a response that is not (or no longer) stored. */
export function responseNotFound(id: string): HTTPException {
  return new HTTPException(404, { message: `Response with id '${id}' not found.` });
}
