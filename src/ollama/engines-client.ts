/**
 * The Ollama layer's only way to inference: the engines layer's HTTP contract,
 * called in-process. Every call is tagged with its origin (Ollama's unless
 * told), and every refusal is turned into the status and words Ollama clients
 * expect; the other dialects' layers reuse it and reword by status.
 */
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import * as v from "valibot";
import { LoadDurationHeader } from "../inference/load-duration.ts";
import { OriginOllamaCompletion, RequestOriginHeader } from "../inference/origin.ts";

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

/** An error code: OpenAI's are words, vLLM's the HTTP status (`"code": 404`). */
const ErrorCodeSchema = v.nullish(v.union([v.string(), v.number()]));

/**
 * An engine's error, in the shapes engines answer with: OpenAI's
 * `{error: {message, code}}` (vLLM since 0.10.1, vllm/entrypoints/openai/protocol.py
 * ErrorResponse, code an integer), a bare `{error: "..."}`, vLLM's older flat
 * `{object: "error", message, code}`, and FastAPI's `{detail: ...}` for a
 * route the engine does not have or a body its schema refuses.
 */
const ErrorBodySchema = v.union([
  v.object({ error: v.union([v.string(), v.looseObject({ message: v.string(), code: ErrorCodeSchema })]) }),
  v.pipe(
    v.looseObject({ object: v.literal("error"), message: v.string(), code: ErrorCodeSchema }),
    v.transform(({ message, code }) => ({ error: { message, code } })),
  ),
]);
const FastApiErrorSchema = v.object({ detail: v.unknown() });

// Never sent anywhere: the engines app reads only the path.
const internalUrl = "http://engines.internal";

export function createEnginesClient(engines: EnginesFetch, origin: string = OriginOllamaCompletion): EnginesClient {
  const send = async (path: string, init: RequestInit, model?: string): Promise<Response> => {
    const headers = new Headers(init.headers);
    headers.set(RequestOriginHeader, origin);
    const response = await engines(new Request(internalUrl + path, { ...init, headers }));
    if (response.ok) return response;
    throw await refusal(response, path.split("?")[0]!, model);
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

/** How long the engines layer says this request waited for its runner to load, in milliseconds. */
export function loadDurationMs(response: Response): number {
  const value = Number(response.headers.get(LoadDurationHeader));
  return Number.isFinite(value) && value > 0 ? value : 0;
}

async function refusal(response: Response, path: string, model: string | undefined): Promise<HTTPException> {
  const status = response.status as ContentfulStatusCode;
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // Not JSON: the text itself is the message.
  }
  const fastApi = v.safeParse(FastApiErrorSchema, json);
  if (fastApi.success) {
    const { detail } = fastApi.output;
    // FastAPI's answer for a route the engine lacks is not a missing model.
    if (status === 404) return new HTTPException(404, { message: `the engine serving this model has no ${path}` });
    return new HTTPException(status, { message: `the engine refused the request: ${fastApiDetail(detail)}` });
  }
  const parsed = v.safeParse(ErrorBodySchema, json);
  const error = parsed.success ? parsed.output.error : undefined;
  const code = typeof error === "object" ? error.code : undefined;
  // Ollama's words for an unknown model; a 404 for an unknown backend or route keeps its own.
  if (status === 404 && model !== undefined && (code === "model_not_found" || code === 404 || code === undefined)) {
    return new HTTPException(404, { message: `model "${model}" not found, try pulling it first` });
  }
  const message = typeof error === "string" ? error : (error?.message ?? (text || response.statusText));
  return new HTTPException(status, { message });
}

/** FastAPI's `detail`: a sentence, or pydantic's list of `{loc, msg}` (a 422). */
function fastApiDetail(detail: unknown): string {
  if (typeof detail === "string") return detail.slice(0, 500);
  const issues = Array.isArray(detail) ? detail : [detail];
  const messages = issues.map((issue) => {
    const { msg, loc } = (issue ?? {}) as { msg?: unknown; loc?: unknown };
    const where = Array.isArray(loc) ? `${loc.join(".")}: ` : "";
    return typeof msg === "string" ? `${where}${msg}` : "invalid request";
  });
  return messages.join("; ").slice(0, 500);
}
