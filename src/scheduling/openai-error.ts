import { EngineRefusal } from "../engines/engines.ts";
import { InvalidConfigurationError } from "../inference/invalid-configuration-error.ts";
import { UnsupportedRequestError } from "../inference/unsupported-request-error.ts";
import { ModelNotFoundError } from "../models/model-resolver.ts";
import { InvalidReferenceError } from "../models/reference.ts";
import { ContextLengthExceededError } from "./context-length-error.ts";
import {
  LoaderClosedError,
  ModelTooLargeError,
  RunnerBusyError,
  RunnerCrashedError,
  RunnerLoadError,
  ServerBusyError,
  UnsupportedModelFormatError,
} from "./loader-errors.ts";
import { NoReplicaAvailableError } from "./external/no-replica-error.ts";
import { BackendNotFoundError } from "./loader.ts";
import { MisdirectedRequestError } from "./runner-proxy.ts";

/** An error as OpenAI clients read it: `{"error": {"message", "type", "code"}}`. */
export interface OpenAIError {
  readonly status: number;
  readonly message: string;
  readonly type: "invalid_request_error" | "not_found_error" | "server_error" | "request_cancelled";
  readonly code: string | null;
}

/** A request the engines layer refuses before reaching any engine. */
export class BadRequestError extends Error {
  override readonly name = "BadRequestError";
}

/** Maps whatever went wrong to its status and OpenAI-shaped description. */
export function toOpenAIError(error: unknown, signal?: AbortSignal): OpenAIError {
  const message = error instanceof Error ? error.message : String(error);
  const is = (type: OpenAIError["type"], status: number, code: string | null): OpenAIError => ({ status, message, type, code });
  if (error instanceof EngineRefusal) return is(error.type, error.status, error.code);
  if (error instanceof BadRequestError || error instanceof InvalidConfigurationError || error instanceof InvalidReferenceError) {
    return is("invalid_request_error", 400, null);
  }
  if (error instanceof UnsupportedRequestError) return is("invalid_request_error", 400, "unsupported_request");
  // OpenAI's own code for it, which the dialects' layers reword.
  if (error instanceof ContextLengthExceededError) return is("invalid_request_error", 400, "context_length_exceeded");
  if (error instanceof UnsupportedModelFormatError) return is("invalid_request_error", 400, "unsupported_model_format");
  if (error instanceof ModelNotFoundError) return is("not_found_error", 404, "model_not_found");
  if (error instanceof BackendNotFoundError) return is("not_found_error", 404, "backend_not_found");
  if (error instanceof RunnerBusyError) return is("invalid_request_error", 409, "runner_busy");
  if (error instanceof MisdirectedRequestError) return is("invalid_request_error", 421, "misdirected_request");
  if (error instanceof ServerBusyError || error instanceof LoaderClosedError) return is("server_error", 503, "server_busy");
  if (error instanceof NoReplicaAvailableError) return is("server_error", 503, "no_replica_available");
  if (error instanceof ModelTooLargeError) return is("server_error", 500, "insufficient_memory");
  if (error instanceof RunnerLoadError || error instanceof RunnerCrashedError) return is("server_error", 500, "engine_failure");
  if (signal?.aborted) return is("request_cancelled", 499, null);
  return is("server_error", 500, null);
}

export function openAIErrorResponse({ status, message, type, code }: OpenAIError): Response {
  return Response.json({ error: { message, type, code } }, { status });
}
