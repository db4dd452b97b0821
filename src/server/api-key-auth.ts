import type { Context, MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { except } from "hono/combine";
import { errorReply } from "./error-reply.ts";

export interface ApiKeyAuthOptions {
  /** The key clients send as `Authorization: Bearer <key>`. */
  readonly key: string;
}

/** Characters a bearer token may hold (RFC 6750's b64token); Hono's bearer-auth refuses any other. */
export const apiKeyPattern = /^[A-Za-z0-9._~+/-]+=*$/;

/**
 * Probes that must work without a key, as on Ollama: whether a server is up, and which version.
 * Everything else, `/metrics` included, needs one.
 */
const openPaths = new Set(["/", "/api/version"]);

/**
 * Requires `Authorization: Bearer <key>` (compared in constant time) on
 * every request but the liveness and version probes and CORS preflights,
 * which the CORS middleware answers before this one runs. A missing, malformed
 * or wrong key is a 401 with `{"error"}` in the shape of the path's API.
 *
 * @example app.use("*", apiKeyAuth({ key: process.env.MODELGATE_API_KEY }))
 */
export function apiKeyAuth({ key }: ApiKeyAuthOptions): MiddlewareHandler {
  const refuse = (message: string) => ({
    message: (c: Context) => errorReply(c.req.path, 401, message, "invalid_api_key"),
  });
  const isProbe = (c: Context) => (c.req.method === "GET" || c.req.method === "HEAD") && openPaths.has(c.req.path);
  return except(
    isProbe,
    bearerAuth({
    token: key,
      noAuthenticationHeader: refuse("an API key is required: send Authorization: Bearer <key>"),
      invalidAuthenticationHeader: refuse("malformed Authorization header: expected Bearer <key>"),
      invalidToken: refuse("invalid API key"),
    }),
  );
}
