/**
 * The running server as the CLI reaches it: `MODELGATE_HOST` (or
 * `OLLAMA_HOST`, default 127.0.0.1:11434), read the way `serve` reads it, a
 * wildcard listen address meaning this machine. A refused connection says
 * that no server runs there; an error status carries the server's
 * `{"error"}`.
 */
import { listenAddressUrl, parseListenAddress } from "../server/listen-address.ts";

export interface ServerClient {
  /** Any status; fails only when the server cannot be reached. */
  send(path: string, init?: RequestInit & { duplex?: "half" }): Promise<Response>;
  /** A 2xx response, or the server's error message thrown. */
  call(path: string, init?: RequestInit & { duplex?: "half" }): Promise<Response>;
}

const wildcardHosts: Readonly<Record<string, string>> = { "0.0.0.0": "127.0.0.1", "::": "::1" };

export function serverClient(env: Readonly<Record<string, string | undefined>> = process.env): ServerClient {
  const address = parseListenAddress(env.MODELGATE_HOST || env.OLLAMA_HOST || "");
  const url = listenAddressUrl({ ...address, hostname: wildcardHosts[address.hostname] ?? address.hostname });

  const send = async (path: string, init?: RequestInit) => {
    try {
      return await fetch(url + path, init);
    } catch (error) {
      const cause = (error as Error & { cause?: NodeJS.ErrnoException }).cause;
      if (cause?.code === "ECONNREFUSED") {
        throw new Error(`no modelgate server is running at ${url}: start one with "modelgate serve", or set MODELGATE_HOST`);
      }
      throw new Error(`cannot reach the server at ${url}: ${cause?.message ?? (error as Error).message}`);
    }
  };

  return {
    send,
    async call(path, init) {
      const response = await send(path, init);
      if (response.ok) return response;
      const text = await response.text();
      let message = text.trim() || `HTTP ${response.status}`;
      try {
        const body = JSON.parse(text) as { error?: unknown };
        if (typeof body.error === "string") message = body.error;
      } catch {
        // not JSON: the text stands
      }
      throw new Error(message);
    },
  };
}
