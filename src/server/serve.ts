import { serve as serveNode, type ServerType } from "@hono/node-server";
import type { Hono } from "hono";
import { listenAddressUrl, type ListenAddress } from "./listen-address.ts";

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  /** Stops accepting connections and resolves once open ones are closed. */
  close(): Promise<void>;
}

/** Listens on `address` and resolves once the socket is bound (port 0 picks a free one). */
export function listen(app: Hono, address: ListenAddress): Promise<RunningServer> {
  return new Promise((resolvePromise, reject) => {
    let server: ServerType;
    const onError = (error: Error) => reject(error);
    server = serveNode({ fetch: app.fetch, hostname: address.hostname, port: address.port }, (info) => {
      server.off("error", onError);
      const bound = { hostname: address.hostname, port: info.port };
      resolvePromise({
        url: listenAddressUrl(bound),
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            if ("closeIdleConnections" in server) server.closeIdleConnections();
          }),
      });
    });
    server.once("error", onError);
  });
}
