/**
 * Hono's `bodyLimit`, without touching the request's body when its
 * `Content-Length` already settles the question. On Node, reading `body`
 * makes @hono/node-server wrap the socket in a web stream, and the
 * handler's own read then loses the server's direct path: about half a
 * millisecond before every first token on a small machine. Bodies without
 * a length (chunked) are counted by `bodyLimit` as they are read.
 *
 * @example app.post("/v1/chat/completions", bodySizeLimit({ maxSize: 1 << 20, onError: tooLarge }), handler)
 */
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";

export interface BodySizeLimitOptions {
  readonly maxSize: number;
  readonly onError: (c: Context) => Response | Promise<Response>;
}

export function bodySizeLimit(options: BodySizeLimitOptions): MiddlewareHandler {
  const counted = bodyLimit(options);
  return async (c, next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    const length = c.req.header("content-length");
    if (length === undefined || c.req.header("transfer-encoding") !== undefined) return counted(c, next);
    return Number(length) > options.maxSize ? options.onError(c) : next();
  };
}
