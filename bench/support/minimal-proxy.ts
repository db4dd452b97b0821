/**
 * A thin Node proxy, as a yardstick: node:http, the body read whole, one
 * undici request to the runner's socket, each chunk of the reply written on
 * as it arrives (`bare-pipe.ts`, without undici, is thinner still). No framework, no web streams, no routing by
 * model, loader, metrics or logs. What it adds over the runner is what the
 * extra hop costs any Node proxy on this machine; the gateway is judged
 * against that too.
 *
 * Run as its own process (like the gateway, so it never shares the bench's
 * event loop): `node --import tsx minimal-proxy.ts <runner socket>`.
 */
import { createServer } from "node:http";
import { Agent, request } from "undici";
import { announceListening, startProxyProcess, type ProxyProcess } from "./proxy-process.ts";

export type MinimalProxy = ProxyProcess;

export function startMinimalProxy(socket: string, env: Record<string, string> = {}): Promise<MinimalProxy> {
  return startProxyProcess(import.meta.filename, [socket], env);
}

if (process.argv[1] === import.meta.filename) {
  // Kept-alive connections, as the gateway keeps them (runner-process.ts).
  const runner = new Agent({ connect: { socketPath: process.argv[2]! }, keepAliveTimeout: 2_000, keepAliveMaxTimeout: 2_000 });
  const send = (path: string, body: Buffer) =>
    request(`http://runner${path}`, { method: "POST", body, headers: { "content-type": "application/json" }, dispatcher: runner });
  const server = createServer(async (incoming, outgoing) => {
    const parts: Buffer[] = [];
    for await (const part of incoming) parts.push(part as Buffer);
    const body = Buffer.concat(parts);
    // llama-server may close a kept-alive connection unannounced: sent again once on a new one.
    const upstream = await send(incoming.url!, body).catch((error: { code?: string }) => {
      if (error.code === "UND_ERR_SOCKET" || error.code === "ECONNRESET") return send(incoming.url!, body);
      throw error;
    });
    outgoing.writeHead(upstream.statusCode, { "content-type": String(upstream.headers["content-type"]) });
    upstream.body.on("data", (chunk: Buffer) => outgoing.write(chunk));
    upstream.body.on("end", () => outgoing.end());
  });
  announceListening(server);
}
