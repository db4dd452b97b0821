import { anthropicRefusal } from "../anthropic/anthropic-error.ts";
import { ExperimentalEndpointsPrefix, InferencePrefix } from "../inference/prefixes.ts";
import { openAIErrorResponse } from "../scheduling/openai-error.ts";

/** Paths the engines API answers (also under the experimental prefix, and the `/v1` alias), whose clients read OpenAI's error shape. */
const enginesPaths = [InferencePrefix, `${ExperimentalEndpointsPrefix}${InferencePrefix}`, "/v1"];

/** Anthropic's Messages API, whose clients read `{"type": "error", "error": {type, message}}`. */
const anthropicPaths = /^(\/anthropic)?\/v1\/messages(\/|$)/;

/**
 * A refusal made before any front door's own handler runs (authentication,
 * body size), in the shape that door's clients read: Anthropic's on the
 * Messages API, OpenAI's `{"error": {message, type, code}}` on engines paths,
 * Ollama's `{"error": "..."}` everywhere else.
 */
export function errorReply(path: string, status: number, message: string, code: string): Response {
  if (anthropicPaths.test(path)) {
    const refusal = anthropicRefusal(status, message);
    return Response.json(refusal.body, { status: refusal.status });
  }
  const engines = enginesPaths.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
  if (engines) return openAIErrorResponse({ status, message, type: "invalid_request_error", code });
  return Response.json({ error: message }, { status });
}
