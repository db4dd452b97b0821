import { Hono } from "hono";
import type { Registry } from "prom-client";
import { ExperimentalEndpointsPrefix, InferencePrefix, ModelsPrefix } from "../inference/prefixes.ts";

export interface AppParts {
  /** The engines API, with routes relative to `/engines`. */
  readonly engines: Hono;
  /** The model manager, with routes relative to `/models`. */
  readonly models: Hono;
  /** Ollama's API, with routes relative to `/api`, tried in order (the last answers unknown paths). */
  readonly ollama: readonly Hono[];
  readonly metrics: Registry;
}

/**
 * The gateway's HTTP application: every front door mounted on one Hono app.
 * The engines API answers at `/engines`, under the experimental prefix, and
 * at `/v1/*` (an alias of `/engines/v1/*`, where OpenAI clients look).
 */
export function createApp({ engines, models, ollama, metrics }: AppParts): Hono {
  const app = new Hono();
  // Ollama clients probe this to see whether a server is up (`GET` and `HEAD`).
  app.get("/", (c) => c.text("Ollama is running"));
  for (const part of ollama) app.route("/api", part);
  app.route(ModelsPrefix, models);
  app.route(InferencePrefix, engines);
  app.route(`${ExperimentalEndpointsPrefix}${InferencePrefix}`, engines);
  app.route("/v1", new Hono().all("/*", (c) => engines.fetch(c.req.raw)));
  app.get("/metrics", async (c) => c.body(await metrics.metrics(), 200, { "Content-Type": metrics.contentType }));
  return app;
}
