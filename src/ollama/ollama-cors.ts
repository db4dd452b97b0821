import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";

export interface OllamaCorsOptions {
  /**
   * Origins allowed besides the local ones; `*` wildcards anywhere (`*` alone
   * allows every origin). Default: `MODELGATE_ORIGINS` and `OLLAMA_ORIGINS`,
   * comma-separated.
   */
  readonly origins?: readonly string[];
}

/** What Ollama allows out of the box: pages served from this machine, and desktop/editor webviews. */
const localOrigins = ["localhost", "127.0.0.1", "0.0.0.0", "[::1]"].flatMap((host) =>
  ["http", "https"].flatMap((scheme) => [`${scheme}://${host}`, `${scheme}://${host}:*`]),
);
const appOrigins = ["app://*", "file://*", "tauri://*", "vscode-webview://*", "vscode-file://*"];

/** `MODELGATE_ORIGINS` and `OLLAMA_ORIGINS`, split on commas. */
export function originsFromEnvironment(env: NodeJS.ProcessEnv = process.env): string[] {
  return [env.MODELGATE_ORIGINS, env.OLLAMA_ORIGINS].flatMap((list) =>
    (list ?? "").split(",").map((origin) => origin.trim()).filter(Boolean),
  );
}

/**
 * CORS as `OLLAMA_ORIGINS` sets it: local origins by default, more by
 * configuration; a refused origin gets no `Access-Control-Allow-Origin`, so
 * the browser blocks it. The patterns become one regular expression, once.
 *
 * @example app.use("*", ollamaCors({ origins: ["https://*.example.com"] }))
 */
export function ollamaCors(options: OllamaCorsOptions = {}): MiddlewareHandler {
  const patterns = [...localOrigins, ...appOrigins, ...(options.origins ?? originsFromEnvironment())];
  const allowed = new RegExp(`^(?:${patterns.map(patternSource).join("|")})$`, "i");
  return cors({ origin: (origin) => (allowed.test(origin) ? origin : null) });
}

function patternSource(pattern: string): string {
  return pattern.split("*").map(escapeRegExp).join(".*");
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
