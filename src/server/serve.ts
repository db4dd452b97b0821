import { serve as serveNode, type ServerType } from "@hono/node-server";
import type { Hono } from "hono";
import { setTimeout as sleep } from "node:timers/promises";
import { listenAddressUrl, type ListenAddress } from "./listen-address.ts";

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  /**
   * Stops accepting connections, lets responses in flight finish for up to
   * `graceMs`, then cuts whatever is left. Resolves once all are closed.
   */
  close(graceMs?: number): Promise<void>;
}

/** Listens on `address` and resolves once the socket is bound (port 0 picks a free one). */
export function listen(app: Hono, address: ListenAddress): Promise<RunningServer> {
  return new Promise((resolvePromise, reject) => {
    const onError = (error: Error) => reject(error);
    const server: ServerType = serveNode({ fetch: app.fetch, hostname: address.hostname, port: address.port }, (info) => {
      server.off("error", onError);
      resolvePromise({
        url: listenAddressUrl({ hostname: address.hostname, port: info.port }),
        port: info.port,
        close: (graceMs = 0) => closeGracefully(server, graceMs),
      });
    });
    server.once("error", onError);
  });
}

async function closeGracefully(server: ServerType, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  if (!("closeAllConnections" in server)) return closed; // HTTP/2 servers close their sessions themselves
  server.closeIdleConnections();
  const drained = await Promise.race([closed.then(() => true), sleep(graceMs).then(() => false)]);
  if (!drained) server.closeAllConnections();
  return closed;
}
