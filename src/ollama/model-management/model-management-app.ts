/**
 * Ollama's model management (`/api/pull`, `/api/push`, `/api/create`,
 * `/api/copy`, `/api/delete`, `/api/blobs/:digest`) on top of the model
 * manager's `/models` HTTP API, called in-process: this layer translates
 * requests and replies and knows nothing of the store. Mount it on `/api`
 * before the rest of the Ollama app (whose catch-all answers 404):
 *
 * @example
 * app.route("/api", createOllamaModelManagementApp({ models: modelsApp.fetch, logger }));
 * app.route("/api", createOllamaApp({ engines: enginesApp.fetch, logger }));
 */
import { Hono, type Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Logger } from "pino";
import * as v from "valibot";
import { jsonRecord } from "../../inference/untrusted-json.ts";
import { parseGoTemplate, TemplateError } from "../../templates/go-template.ts";
import { badRequest, ModelEntries, readRequestBody, requiredModel } from "../request-body.ts";
import { InvalidOptionError, readRequestOptions } from "../request-options.ts";

/** The `/models` app's `fetch`; paths are relative to its mount (`/create`, `/blobs/…`). */
export type ModelsFetch = (request: Request) => Response | Promise<Response>;

export interface OllamaModelManagementOptions {
  readonly models: ModelsFetch;
  readonly logger: Logger;
}

const TransferRequestSchema = v.object({
  ...ModelEntries,
  insecure: v.nullish(v.boolean()),
  stream: v.nullish(v.boolean()),
});

const CreateRequestSchema = v.object({
  ...ModelEntries,
  from: v.nullish(v.string()),
  files: v.nullish(jsonRecord(v.string())),
  adapters: v.nullish(jsonRecord(v.string())),
  template: v.nullish(v.string()),
  system: v.nullish(v.string()),
  parameters: v.nullish(jsonRecord(v.unknown())),
  license: v.nullish(v.union([v.string(), v.array(v.string())])),
  messages: v.nullish(v.array(v.unknown())),
  quantize: v.nullish(v.string()),
  stream: v.nullish(v.boolean()),
});

const CopyRequestSchema = v.object({ source: v.string(), destination: v.string() });
const DeleteRequestSchema = v.object(ModelEntries);
const ErrorBodySchema = v.object({ error: v.string() });

// Never sent anywhere: the models app reads only the path.
const origin = "http://models.internal";

export function createOllamaModelManagementApp(options: OllamaModelManagementOptions): Hono {
  const logger = options.logger.child({ component: "ollama-models" });

  const call = async (path: string, init: RequestInit = {}): Promise<Response> => {
    const response = await options.models(new Request(origin + path, init));
    if (response.ok) return response;
    throw await refusal(response);
  };

  const postJson = (path: string, body: unknown, signal: AbortSignal) =>
    call(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal });

  const app = new Hono();
  app.onError((error, c) => {
    const status = error instanceof HTTPException ? (error.status as ContentfulStatusCode) : error instanceof InvalidOptionError ? 400 : 500;
    if (status >= 500) logger.warn({ err: error, path: c.req.path }, "model management request failed");
    return c.json({ error: error.message }, status);
  });

  app.post("/pull", async (c) => {
    const body = await readRequestBody(c.req, TransferRequestSchema);
    const progress = await postJson("/create", { from: requiredModel(body), insecure: body.insecure ?? undefined }, c.req.raw.signal);
    return progressReply(c, progress, body.stream);
  });

  app.post("/push", async (c) => {
    const body = await readRequestBody(c.req, TransferRequestSchema);
    const progress = await postJson(`/${modelPath(requiredModel(body))}/push`, { insecure: body.insecure ?? undefined }, c.req.raw.signal);
    return progressReply(c, progress, body.stream);
  });

  app.post("/create", async (c) => {
    const body = await readRequestBody(c.req, CreateRequestSchema);
    if (body.quantize) throw badRequest("quantize is not supported: pull or import a quantized GGUF");
    if (body.adapters && Object.keys(body.adapters).length > 0) throw badRequest("adapters are not supported: LoRA adapters do not run on this gateway yet");
    if (body.template) checkTemplate(body.template);
    if (body.parameters) readRequestOptions(body.parameters); // a wrong type is a 400 now, not on every request later
    const progress = await postJson(
      "/create",
      {
        name: requiredModel(body),
        from: body.from ?? undefined,
        files: body.files ?? undefined,
        template: body.template ?? undefined,
        system: body.system ?? undefined,
        parameters: body.parameters ?? undefined,
        license: body.license ?? undefined,
        messages: body.messages ?? undefined,
      },
      c.req.raw.signal,
    );
    return progressReply(c, progress, body.stream);
  });

  app.post("/copy", async (c) => {
    const { source, destination } = await readRequestBody(c.req, CopyRequestSchema);
    if (!source.trim() || !destination.trim()) throw badRequest("source and destination are required");
    await call(`/${modelPath(source)}/tag?${new URLSearchParams({ target: destination })}`, { method: "POST", signal: c.req.raw.signal });
    return c.body(null, 200);
  });

  app.delete("/delete", async (c) => {
    const body = await readRequestBody(c.req, DeleteRequestSchema);
    await call(`/${modelPath(requiredModel(body))}`, { method: "DELETE", signal: c.req.raw.signal });
    return c.body(null, 200);
  });

  // Hono answers HEAD with the GET route (body dropped).
  app.get("/blobs/:digest", async (c) => {
    const response = await options.models(new Request(`${origin}/blobs/${encodeURIComponent(c.req.param("digest"))}`, { method: "HEAD" }));
    return c.body(null, response.status === 200 ? 200 : response.status === 400 ? 400 : 404);
  });

  // The body streams through to the store; it is never buffered here.
  app.post("/blobs/:digest", async (c) => {
    const upload: RequestInit & { duplex: "half" } = { method: "PUT", body: c.req.raw.body, duplex: "half", signal: c.req.raw.signal };
    const stored = await call(`/blobs/${encodeURIComponent(c.req.param("digest"))}`, upload);
    return c.body(null, stored.status === 200 ? 200 : 201);
  });

  return app;
}

/** Ollama's check (server/create.go setTemplate): a template that does not parse is refused. */
function checkTemplate(template: string): void {
  try {
    parseGoTemplate(template);
  } catch (error) {
    if (error instanceof TemplateError) throw badRequest(`template error: ${error.message}`);
    throw error;
  }
}

/** A reference as one path segment: encoded, so `..` or `/` in it cannot change which route answers. */
function modelPath(reference: string): string {
  return encodeURIComponent(reference.trim());
}

/**
 * Passes the progress stream through as it comes (`stream` absent or true),
 * or waits for its last object (`stream: false`): `{"status":"success"}`,
 * or the error it ended with, as an HTTP error.
 */
async function progressReply(c: Context, progress: Response, stream: boolean | null | undefined): Promise<Response> {
  if (stream !== false) return new Response(progress.body, { headers: { "content-type": "application/x-ndjson" } });
  const lines = (await progress.text()).split("\n").filter((line) => line.trim() !== "");
  const last = JSON.parse(lines.at(-1) ?? '{"error":"no progress was reported"}') as Record<string, unknown>;
  if (typeof last.error === "string") throw new HTTPException(500, { message: last.error });
  return c.json(last);
}

/** The models app's status and `{"error"}`, as Ollama clients expect them. */
async function refusal(response: Response): Promise<HTTPException> {
  const text = await response.text();
  let message = text || `HTTP ${response.status}`;
  try {
    const parsed = v.safeParse(ErrorBodySchema, JSON.parse(text));
    if (parsed.success) message = parsed.output.error;
  } catch {
    // not JSON: the text stands
  }
  return new HTTPException(response.status as ContentfulStatusCode, { message });
}
