/**
 * Hono's `bodyLimit`, without touching the request's body when its
 * `Content-Length` already settles the question. On Node, reading `body`
 * makes @hono/node-server wrap the socket in a web stream, and the
 * handler's own read then loses the server's direct path: about half a
 * millisecond before every first token on a small machine. Bodies without
 * a length (chunked) are counted by `bodyLimit` as they are read.
 *
 * With a `budget`, a body also takes its bytes from it, shared by every
 * request, for as long as its handler runs: its `Content-Length` up front,
 * a chunked body as it arrives. One that does not fit gets `onBusy`.
 *
 * @example app.post("/v1/chat/completions", bodySizeLimit({ maxSize: 1 << 20, onError: tooLarge }), handler)
 */
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { ByteBudget } from "./byte-budget.ts";
import { followingSignal } from "./signal-follower.ts";

export interface BodySizeLimitOptions {
  readonly maxSize: number;
  readonly onError: (c: Context) => Response | Promise<Response>;
  readonly budget?: { readonly bytes: ByteBudget; readonly onBusy: (c: Context) => Response | Promise<Response> };
}

class BudgetExhausted extends Error {}

export function bodySizeLimit(options: BodySizeLimitOptions): MiddlewareHandler {
  const counted = bodyLimit(options);
  const { budget } = options;
  return async (c, next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    const length = c.req.header("content-length");
    if (length === undefined || c.req.header("transfer-encoding") !== undefined) {
      if (!budget || !c.req.raw.body) return counted(c, next);
      let held = 0;
      c.req.raw = followingSignal(new Request(c.req.raw, { body: takingAsRead(c.req.raw.body, budget.bytes, (bytes) => (held += bytes)), duplex: "half" } as RequestInit), c.req.raw.signal);
      try {
        return await counted(c, next);
      } catch (error) {
        if (error instanceof BudgetExhausted) return budget.onBusy(c);
        throw error;
      } finally {
        budget.bytes.give(held);
      }
    }
    const declared = Number(length);
    if (declared > options.maxSize) return options.onError(c);
    if (!budget) return next();
    if (!budget.bytes.take(declared)) return budget.onBusy(c);
    try {
      return await next();
    } finally {
      budget.bytes.give(declared);
    }
  };
}

/** `body`, each chunk taken from `budget` as it passes; errors with `BudgetExhausted` at the first that does not fit. */
function takingAsRead(body: ReadableStream<Uint8Array>, budget: ByteBudget, onTaken: (bytes: number) => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) return controller.close();
      if (!budget.take(value.byteLength)) {
        await reader.cancel();
        return controller.error(new BudgetExhausted());
      }
      onTaken(value.byteLength);
      controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}
