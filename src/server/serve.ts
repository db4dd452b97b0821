import { serve as serveNode, type ServerType } from "@hono/node-server";
import type { Hono } from "hono";
import { setTimeout as sleep } from "node:timers/promises";
import type { Server } from "node:http";
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
    const onError = (error: Error) => reject(error);
    const serverOptions = { requestTimeout: 0 };
    const server: ServerType = serveNode({ fetch: leftAlone(app.fetch), hostname: address.hostname, port: address.port, serverOptions }, (info) => {
      server.off("error", onError);
      resolvePromise({
        url: listenAddressUrl({ hostname: address.hostname, port: info.port }),
        port: info.port,
        close: (graceMs = 0, endInFlight) => closeGracefully(server, graceMs, endInFlight),
      });
    });
    server.once("error", onError);
    discardUnreadBodies(server as Server);
    if (idle) watchIdleTransfers(server as Server, idle);
  });
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

async function closeGracefully(server: ServerType, graceMs: number, endInFlight?: () => Promise<void>): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  if (!("closeAllConnections" in server)) return closed; // HTTP/2 servers close their sessions themselves
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
