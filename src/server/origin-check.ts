/**
 * Which web pages may call the gateway. A page on another origin can send a
 * "simple" request (a `text/plain` POST) without a preflight, and the
 * browser delivers it even though the page may not read the answer: so an
 * `Origin` outside the allowed list is refused with a 403 before any
 * handler runs, as Ollama does, rather than only denied the CORS headers.
 * Requests without `Origin` (CLIs, SDKs, servers) are not affected.
 */
import type { Context, MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { wildcardPattern } from "../http/wildcard-pattern.ts";

export interface OriginCheckOptions {
  /**
   * Origins allowed besides Ollama's local defaults; `*` wildcards anywhere
   * (`*` alone allows every origin): `MODELGATE_ORIGINS` and `OLLAMA_ORIGINS`.
   */
  readonly origins?: readonly string[];
  /** The refusal; a plain 403 by default. */
  readonly onRefused?: (c: Context, origin: string) => Response | Promise<Response>;
}

/** What Ollama allows out of the box (envconfig's AllowedOrigins): pages served from this machine, desktop and editor webviews. */
const localOrigins = ["localhost", "127.0.0.1", "0.0.0.0", "[::1]"].flatMap((host) =>
  ["http", "https"].flatMap((scheme) => [`${scheme}://${host}`, `${scheme}://${host}:*`]),
);
const appOrigins = ["app://*", "file://*", "tauri://*", "vscode-webview://*", "vscode-file://*"];

/** `MODELGATE_ORIGINS` and `OLLAMA_ORIGINS`, split on commas. */
export function originsFromEnvironment(env: Readonly<Record<string, string | undefined>> = process.env): string[] {
  return [env.MODELGATE_ORIGINS, env.OLLAMA_ORIGINS].flatMap((list) =>
    (list ?? "").split(",").map((origin) => origin.trim()).filter(Boolean),
  );
}

/**
 * Refuses foreign origins, and answers CORS (preflights included) for the
 * allowed ones with hono/cors. A request whose `Origin` is its own `Host`
 * is not cross-origin and passes, as in Ollama's CORS middleware; the host
 * check decides whether that host is one to serve.
 *
 * @example app.use("*", originCheck({ origins: ["https://*.example.com"] }))
 */
export function originCheck(options: OriginCheckOptions = {}): MiddlewareHandler {
  const patterns = [...localOrigins, ...appOrigins, ...(options.origins ?? [])];
  const allowed = wildcardPattern(patterns);
  const onRefused = options.onRefused ?? ((c: Context) => c.text("Forbidden", 403));
  const answerCors = cors({ origin: (origin) => (allowed.test(origin) ? origin : null) });
  return async (c, next) => {
    const origin = c.req.header("origin");
    if (!origin || allowed.test(origin) || isSameOrigin(origin, c.req.header("host"))) return answerCors(c, next);
    return onRefused(c, origin);
  };
}

function isSameOrigin(origin: string, host: string | undefined): boolean {
  return host !== undefined && (origin === `http://${host}` || origin === `https://${host}`);
}
