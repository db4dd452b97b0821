/**
 * The engines layer's HTTP face, called in-process, as the Anthropic and
 * Responses layers still reach it (until they call the engines contract,
 * `src/engines/engines.ts`, as the Ollama layer does). Every call is tagged
 * with its origin, and every refusal is turned into the status and words
 * Ollama clients expect; those layers reword by status.
 */
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import * as v from "valibot";
import { OriginOllamaCompletion, RequestOriginHeader } from "../inference/origin.ts";
import { followingSignal } from "../http/signal-follower.ts";
import { promptTooLong } from "./ollama-engines.ts";

/** The engines app's `fetch`; paths are relative to its mount point (`/v1/chat/completions`, `/ps`). */
export type EnginesFetch = (request: Request) => Response | Promise<Response>;

export interface EnginesClient {
  /**
   * POSTs JSON and resolves with a 2xx response, body unread.
   *
   * @throws HTTPException with the engines' status and message (404 for an unknown `model`)
   */
  post(path: string, body: Readonly<Record<string, unknown>>, signal?: AbortSignal): Promise<Response>;
  /** GETs JSON and checks it against `schema`. */
  get<const Schema extends v.GenericSchema>(path: string, schema: Schema, signal?: AbortSignal): Promise<v.InferOutput<Schema>>;
}

/** OpenAI's `{error: {message}}`, or a bare `{error: "..."}`. */
const ErrorBodySchema = v.object({
  error: v.union([v.string(), v.looseObject({ message: v.string(), code: v.unknown() })]),
});

// Never sent anywhere: the engines app reads only the path.
const internalUrl = "http://engines.internal";

export function createEnginesClient(engines: EnginesFetch, origin: string = OriginOllamaCompletion): EnginesClient {
  const send = async (path: string, init: RequestInit, model?: string): Promise<Response> => {
    const headers = new Headers(init.headers);
    headers.set(RequestOriginHeader, origin);
    const response = await engines(followingSignal(new Request(internalUrl + path, { ...init, headers }), init.signal));
    if (response.ok) return response;
    throw await refusal(response, model);
  };
  return {
    post: (path, body, signal) => {
      const json = JSON.stringify(body);
      // With its length, the engines' body limit need not read the body twice to count it.
      const headers = { "content-type": "application/json", "content-length": String(Buffer.byteLength(json)) };
      return send(path, { method: "POST", headers, body: json, signal: signal ?? null }, typeof body.model === "string" ? body.model : undefined);
    },
    async get(path, schema, signal) {
      const response = await send(path, { signal: signal ?? null });
      const result = v.safeParse(schema, await response.json());
      if (!result.success) throw new HTTPException(502, { message: `the engines layer answered ${path} unexpectedly` });
      return result.output;
    },
  };
}

async function refusal(response: Response, model: string | undefined): Promise<HTTPException> {
  const status = response.status as ContentfulStatusCode;
  const text = await response.text();
  let parsed: v.InferOutput<typeof ErrorBodySchema> | undefined;
  try {
    const result = v.safeParse(ErrorBodySchema, JSON.parse(text));
    if (result.success) parsed = result.output;
  } catch {
    // Not JSON: the text itself is the message.
  }
  const error = parsed?.error;
  // A code that is not a string (an engine's number) says nothing Ollama's words depend on.
  const code = typeof error === "object" ? (typeof error.code === "string" ? error.code : error.code === undefined ? undefined : null) : undefined;
  // Ollama's words for an unknown model; a 404 for an unknown backend or route keeps its own.
  if (status === 404 && model !== undefined && (code === "model_not_found" || code === undefined)) {
    return new HTTPException(404, { message: `model "${model}" not found, try pulling it first` });
  }
  // Ollama's own sentence for a prompt its runner's context cannot hold (llm/llama_server.go).
  if (code === "context_length_exceeded") return new HTTPException(400, { message: promptTooLong });
  const message = typeof error === "string" ? error : (error?.message ?? (text || response.statusText));
  return new HTTPException(status, { message });
}

