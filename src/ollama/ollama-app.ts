import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Logger } from "pino";
import type { Engines } from "../engines/engines.ts";
import type { Models } from "../models/models.ts";
import { ChatRequestSchema, translateChatRequest } from "./chat-request.ts";
import { createCompletionHandler } from "./completion-handler.ts";
import { createEmbedHandlers } from "./embed-handlers.ts";
import { GenerateRequestSchema, translateGenerateRequest } from "./generate-request.ts";
import { InvalidImageError } from "./image-data-url.ts";
import { createModelViews } from "./model-views.ts";
import type { ModelsFetch } from "./model-management/model-management-app.ts";
import { createModelfileLayers } from "./modelfile-layers.ts";
import { ollamaEngines } from "./ollama-engines.ts";
import { InvalidOptionError } from "./request-options.ts";

export interface OllamaAppOptions {
  /** The engines contract, which runs every request. */
  readonly engines: Engines;
  readonly logger: Logger;
  /** The models contract: each model's Modelfile layers, applied to its requests. */
  readonly layers?: Models;
  /** The model manager's `fetch` (`/models` routes): `/api/show`'s details. */
  readonly models?: ModelsFetch;
  /** What `/api/version` says: a dotted number clients compare (VS Code wants ≥ 0.6.4). */
  readonly version?: string;
}

export const defaultOllamaVersion = "0.12.0";

/**
 * Ollama's API as a Hono app with relative routes: mount it with
 * `app.route("/api", createOllamaApp({ engines, logger }))`.
 * Every `/api/*` path answers JSON, unknown ones a 404 `{"error"}`; errors
 * before a stream starts are HTTP errors with `{"error"}`.
 */
export function createOllamaApp(options: OllamaAppOptions): Hono {
  const logger = options.logger.child({ component: "ollama" });
  const engines = ollamaEngines(options.engines);
  const version = options.version ?? defaultOllamaVersion;
  const completion = createCompletionHandler({ engines, logger, applyModelfile: createModelfileLayers(options.layers) });
  const embeddings = createEmbedHandlers(engines);
  const views = createModelViews(engines, options.models);

  const app = new Hono();
  app.onError((error, c) => {
    const status = errorStatus(error, c.req.raw.signal);
    if (status >= 500) logger.warn({ err: error, path: c.req.path }, "ollama request failed");
    return c.json({ error: status === canceled ? "request canceled" : error.message }, status);
  });

  app.get("/version", (c) => c.json({ version }));
  app.get("/tags", views.tags);
  app.post("/show", views.show);
  app.get("/ps", views.ps);
  app.post("/chat", completion(ChatRequestSchema, translateChatRequest));
  app.post("/generate", completion(GenerateRequestSchema, translateGenerateRequest));
  app.post("/embed", embeddings.embed);
  app.post("/embeddings", embeddings.embeddings);
  // A route rather than `notFound`, so it survives being mounted with `route()`.
  app.all("*", (c) => c.json({ error: `${c.req.method} ${c.req.path} not found` }, 404));
  return app;
}

/** Ollama's (and nginx's) status for a request the client gave up on. */
const canceled = 499 as ContentfulStatusCode;

function errorStatus(error: Error, signal: AbortSignal): ContentfulStatusCode {
  if (error instanceof HTTPException) return error.status as ContentfulStatusCode;
  if (error instanceof InvalidOptionError || error instanceof InvalidImageError) return 400;
  if (signal.aborted) return canceled;
  return 500;
}
