import { getRequestListener, RequestError } from "@hono/node-server";
import type { Hono } from "hono";
import { setTimeout as sleep } from "node:timers/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import { isTakenOver } from "../http/stream-reply.ts";
import { watchIdleTransfers, type IdleTransferOptions } from "./idle-transfers.ts";
import { listenAddressUrl, type ListenAddress } from "./listen-address.ts";
import { discardUnreadBodies } from "./unread-bodies.ts";

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  /**
   * Stops accepting connections, lets responses in flight finish for up to
   * `graceMs`, then runs `endInFlight` (which should end them with an error
   * of their own), and cuts whatever is still open shortly after. Resolves
   * once all are closed.
   */
  close(graceMs?: number, endInFlight?: () => Promise<void>): Promise<void>;
}

/** After `endInFlight`, how long responses may take to send their last words. */
const lastWordsMs = 3_000;

/**
 * Listens on `address` and resolves once the socket is bound (port 0 picks a
 * free one). Transfers are bounded by idle time (`idle`), never by total
 * time: Node's 5-minute limit on receiving a request would cut any upload
 * of a large model.
 */
export function listen(app: Hono, address: ListenAddress, idle?: IdleTransferOptions): Promise<RunningServer> {
  return new Promise((resolvePromise, reject) => {
    // @hono/node-server's `serve`, but with an error handler, which it does not pass on.
    const options = { errorHandler: refusedBeforeTheApp };
    // HTTP/1.1 requires a Host: without one, @hono/node-server refuses, where Node's own check answered an empty 400.
    const http11 = getRequestListener(leftAlone(app.fetch), options);
    const http10 = getRequestListener(leftAlone(app.fetch), { ...options, hostname: address.hostname });
    const server = createServer({ requestTimeout: 0, requireHostHeader: false }, (request, response) =>
      request.httpVersion === "1.0" ? http10(request, response) : http11(request, response),
    );
    discardUnreadBodies(server);
    if (idle) watchIdleTransfers(server, idle);
    server.once("error", reject);
    server.listen(address.port, address.hostname, () => {
      server.off("error", reject);
      const port = (server.address() as AddressInfo).port;
      resolvePromise({
        url: listenAddressUrl({ hostname: address.hostname, port }),
        port,
        close: (graceMs = 0, endInFlight) => closeGracefully(server, graceMs, endInFlight),
      });
    });
  });
}

/**
 * What @hono/node-server refuses before the app sees it (a `Host` no URL can
 * hold, a malformed target) gets an error in the API's shape, not an empty
 * 400; the app's own errors never reach here, Hono answers them.
 */
function refusedBeforeTheApp(error: unknown): Response {
  if (error instanceof RequestError) return Response.json({ error: `bad request: ${error.message.toLowerCase()}` }, { status: 400 });
  return Response.json({ error: "internal server error" }, { status: 500 });
}

type Fetch = (request: Request, env: { outgoing: object }) => Response | Promise<Response>;

/**
 * A reply the handler wrote to Node's response itself (`streamReply`) is
 * answered to @hono/node-server with its "already sent" marker, which it
 * honours only on a `Response` of its own making: whatever Hono's middleware
 * made of the handler's stand-in is not written a second time.
 */
function leftAlone(fetch: Hono["fetch"]): Fetch {
  const answer = (response: Response, outgoing: object) => (isTakenOver(outgoing) ? RESPONSE_ALREADY_SENT : response);
  return (request, env) => {
    const response = fetch(request, env);
    return response instanceof Promise ? response.then((settled) => answer(settled, env.outgoing)) : answer(response, env.outgoing);
  };
}

async function closeGracefully(server: Server, graceMs: number, endInFlight?: () => Promise<void>): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const drainedWithin = (ms: number) => Promise.race([closed.then(() => true), sleep(ms).then(() => false)]);
  if (await drainedWithin(graceMs)) return;
  // A stream cut mid-way reads as a network fault; one that ends with an error line says why.
  if (endInFlight) {
    await endInFlight();
    if (await drainedWithin(lastWordsMs)) return;
  }
  server.closeAllConnections();
  return closed;
}
