/**
 * The thinnest proxy Node allows, as a yardstick: node:http, the body read
 * whole, one undici request to the runner's socket, each chunk of the reply
 * written on as it arrives. No framework, no web streams, no routing by
 * model, loader, metrics or logs. What it adds over the runner is what the
 * extra hop costs any Node proxy on this machine; the gateway is judged
 * against that too.
 *
 * Run as its own process (like the gateway, so it never shares the bench's
 * event loop): `node --import tsx minimal-proxy.ts <runner socket>`; it
 * prints `listening <port>` once it is.
 */
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { createInterface } from "node:readline";
import { Agent, request } from "undici";

export interface MinimalProxy {
  readonly url: string;
  stop(): Promise<void>;
}

export async function startMinimalProxy(socket: string): Promise<MinimalProxy> {
  const child = spawn(process.execPath, ["--import", "tsx", import.meta.filename, socket], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const port = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`the minimal proxy exited (${code}) before listening`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const match = /^listening (\d+)$/.exec(line);
      if (match) resolve(match[1]!);
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

if (process.argv[1] === import.meta.filename) {
  const runner = new Agent({ connect: { socketPath: process.argv[2]! } });
  const server = createServer(async (incoming, outgoing) => {
    const parts: Buffer[] = [];
    for await (const part of incoming) parts.push(part as Buffer);
    const upstream = await request(`http://runner${incoming.url}`, {
      method: "POST",
      body: Buffer.concat(parts),
      headers: { "content-type": "application/json" },
      dispatcher: runner,
      reset: true, // one connection per request, as the gateway does (see runner-proxy.ts)
    });
    outgoing.writeHead(upstream.statusCode, { "content-type": String(upstream.headers["content-type"]) });
    upstream.body.on("data", (chunk: Buffer) => outgoing.write(chunk));
    upstream.body.on("end", () => outgoing.end());
  });
  server.listen(0, "127.0.0.1", () => {
    const address = server.address();
    console.log(`listening ${typeof address === "object" && address ? address.port : ""}`);
  });
  process.once("SIGTERM", () => server.close(() => process.exit(0)));
}
