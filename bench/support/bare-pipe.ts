/**
 * Node's floor as a proxy, the hot-path bench's yardstick: `node:http` alone,
 * the request sent to the runner's socket on a kept-alive connection with
 * `http.request`, the reply piped to the client. Nothing is parsed, copied
 * or observed on the way; what it costs per token is what any Node proxy
 * costs at the least on this machine.
 *
 * Run as its own process: `node --import tsx bare-pipe.ts <runner socket>`.
 */
import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import { announceListening, startProxyProcess, type ProxyProcess } from "./proxy-process.ts";

export function startBarePipe(socket: string, env: Record<string, string> = {}): Promise<ProxyProcess> {
  return startProxyProcess(import.meta.filename, [socket], env);
}

if (process.argv[1] === import.meta.filename) {
  const socketPath = process.argv[2]!;
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });

  const forward = (incoming: IncomingMessage, outgoing: ServerResponse, body: Buffer, retried: boolean) => {
    const upstream = request({ socketPath, agent, method: incoming.method, path: incoming.url, headers: { "content-type": "application/json", "content-length": body.length } }, (reply) => {
      outgoing.writeHead(reply.statusCode ?? 502, { "content-type": reply.headers["content-type"] ?? "application/octet-stream" });
      reply.pipe(outgoing);
    });
    upstream.on("error", (error: NodeJS.ErrnoException) => {
      // llama-server may close a kept-alive connection unannounced: sent again once on a new one.
      if (!retried && upstream.reusedSocket && error.code === "ECONNRESET" && !outgoing.headersSent) return forward(incoming, outgoing, body, true);
      outgoing.destroy(error);
    });
    // A client that leaves stops the engine's request.
    outgoing.once("close", () => outgoing.writableFinished || upstream.destroy());
    upstream.end(body);
  };

  const server = createServer((incoming, outgoing) => {
    const parts: Buffer[] = [];
    incoming.on("data", (part: Buffer) => parts.push(part));
    incoming.on("end", () => forward(incoming, outgoing, Buffer.concat(parts), false));
  });
  announceListening(server);
}
