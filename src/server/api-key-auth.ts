import type { Context, MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { except } from "hono/combine";
import { timingSafeEqual } from "hono/utils/buffer";
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
 * Requires `Authorization: Bearer <key>`, or Anthropic's `x-api-key: <key>`
 * (what `@anthropic-ai/sdk` sends), compared in constant time, on
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
  const bearer = bearerAuth({
    token: key,
    noAuthenticationHeader: refuse("an API key is required: send Authorization: Bearer <key>"),
    invalidAuthenticationHeader: refuse("malformed Authorization header: expected Bearer <key>"),
    invalidToken: refuse("invalid API key"),
  });
  return except(isProbe, async (c, next) => {
    const anthropicKey = c.req.header("x-api-key");
    if (anthropicKey === undefined || c.req.header("authorization") !== undefined) return bearer(c, next);
    if (await timingSafeEqual(key, anthropicKey)) return next();
    return errorReply(c.req.path, 401, "invalid API key", "invalid_api_key");
  });
}
