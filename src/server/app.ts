import { Hono } from "hono";

/**
 * The gateway's HTTP application: every front door (Ollama, engines, models)
 * mounted on one Hono app.
 */
export function createApp(): Hono {
  const app = new Hono();
  // Ollama clients probe this to see whether a server is up (`GET` and `HEAD`).
  app.get("/", (c) => c.text("Ollama is running"));
  return app;
}
