/**
 * An engine's refusal in OpenAI's words. llama-server answers
 * `{"error": {"code": 400, "message", "type": "exceed_context_size_error"}}`
 * and vLLM `{"object": "error", "message", "code": 400}`: a number where
 * OpenAI clients read a string `code`, and types no OpenAI client knows.
 * vLLM's routes are FastAPI's: `{"detail": "Not Found"}` for a route it
 * lacks (`/v1/messages` before vLLM serves Anthropic's API), pydantic's list
 * of issues for a body it refuses.
 * Clients of every front door get the engine's message, the engine's status,
 * and a string code (or null), never the engine's JSON inside a string.
 */
import type { Readable } from "node:stream";
import { isJsonObject, parseJsonObject } from "../utilities/json-object.ts";
import type { OpenAIError } from "./openai-error.ts";

/** The engine's own error types that say more than a status does, as OpenAI's codes. */
const codeOfEngineType: Readonly<Record<string, string>> = {
  exceed_context_size_error: "context_length_exceeded",
  not_supported_error: "not_supported",
  unavailable_error: "engine_unavailable",
};

/** An error body is a few hundred bytes; more than this is not read. */
const maxRefusalBytes = 64 * 1024;

/** Reads a runner's non-2xx response (its body, up to a bound) as an OpenAI error. */
export async function engineRefusal(reply: { readonly status: number; readonly body: Readable }): Promise<OpenAIError> {
  return describeEngineRefusal(reply.status, await boundedText(reply.body));
}

/**
 * @example describeEngineRefusal(400, '{"error":{"code":400,"message":"too long","type":"exceed_context_size_error"}}')
 * // { status: 400, message: "too long", type: "invalid_request_error", code: "context_length_exceeded" }
 */
export function describeEngineRefusal(status: number, text: string): OpenAIError {
  const body = parseJsonObject(text);
  const error = body && isJsonObject(body.error) ? body.error : body;
  const message = stringField(error, "message") ?? stringField(body, "error") ?? fastApiMessage(body, status) ?? plainText(text, status);
  const engineType = stringField(error, "type");
  const engineCode = stringField(error, "code");
  return {
    status,
    message,
    type: status === 404 ? "not_found_error" : status >= 500 ? "server_error" : "invalid_request_error",
    code: engineCode ?? (engineType === undefined ? null : (codeOfEngineType[engineType] ?? null)),
  };
}

/** FastAPI's `detail`: a sentence, or pydantic's list of `{loc, msg}` (a 422). */
function fastApiMessage(body: Record<string, unknown> | undefined, status: number): string | undefined {
  const detail = body?.detail;
  if (detail === undefined) return undefined;
  // Not a missing model: the engine lacks the route itself.
  if (status === 404) return "the engine serving this model does not have this endpoint";
  if (typeof detail === "string") return detail.slice(0, 1000);
  if (!Array.isArray(detail)) return undefined;
  const issues = detail.flatMap((issue) => {
    const msg = stringField(issue, "msg");
    const loc = isJsonObject(issue) && Array.isArray(issue.loc) ? `${issue.loc.join(".")}: ` : "";
    return msg === undefined ? [] : [loc + msg];
  });
  return issues.length ? `the engine refused the request: ${issues.join("; ")}`.slice(0, 1000) : undefined;
}

function plainText(text: string, status: number): string {
  const trimmed = text.trim();
  // JSON of an unknown shape is not echoed: its message would be JSON inside a string.
  if (trimmed === "" || trimmed.startsWith("{") || trimmed.startsWith("[")) return `the engine refused the request (status ${status})`;
  return trimmed.slice(0, 1000);
}

async function boundedText(body: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size >= maxRefusalBytes) break;
    }
  } finally {
    body.destroy();
  }
  return Buffer.concat(chunks).subarray(0, maxRefusalBytes).toString("utf8");
}

function stringField(object: unknown, key: string): string | undefined {
  if (!isJsonObject(object)) return undefined;
  const value = object[key];
  return typeof value === "string" && value !== "" ? value : undefined;
}
