/**
 * The running server as the CLI reaches it: `MODELGATE_HOST` (or
 * `OLLAMA_HOST`, default 127.0.0.1:11434), read the way `serve` reads it, a
 * wildcard listen address meaning this machine. A refused connection says
 * that no server runs there; an error status carries the server's
 * `{"error"}`.
 */
import * as v from "valibot";
import { listenAddressUrl, parseListenAddress } from "../server/listen-address.ts";

type Init = RequestInit & { duplex?: "half" };

/** The server answered with an error status; `message` is its `{"error"}`. */
export class ServerError extends Error {
  override readonly name = "ServerError";
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export interface ServerClient {
  readonly url: string;
  /** Any status; fails only when the server cannot be reached. */
  send(path: string, init?: Init): Promise<Response>;
  /** A 2xx response, or a ServerError with the server's message thrown. */
  call(path: string, init?: Init): Promise<Response>;
  /** `call` with `body` sent as JSON (POST unless `init` says otherwise). */
  post(path: string, body: unknown, init?: Init): Promise<Response>;
  /** A 2xx JSON reply, checked against `schema`. */
  json<const Schema extends v.GenericSchema>(path: string, schema: Schema, init?: Init): Promise<v.InferOutput<Schema>>;
}

const wildcardHosts: Readonly<Record<string, string>> = { "0.0.0.0": "127.0.0.1", "::": "::1" };

export function serverClient(env: Readonly<Record<string, string | undefined>> = process.env): ServerClient {
  const address = parseListenAddress(env.MODELGATE_HOST || env.OLLAMA_HOST || "");
  const url = listenAddressUrl({ ...address, hostname: wildcardHosts[address.hostname] ?? address.hostname });

  const send = async (path: string, init?: Init) => {
    try {
      return await fetch(url + path, init);
    } catch (error) {
      if (init?.signal?.aborted) throw error;
      const cause = (error as Error & { cause?: NodeJS.ErrnoException }).cause;
      if (cause?.code === "ECONNREFUSED") throw new Error(`modelgate is not running at ${url}; start it with \`modelgate serve\``);
      throw new Error(`cannot reach the server at ${url}: ${cause?.message ?? (error as Error).message}`);
    }
  };

  const call = async (path: string, init?: Init) => {
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
    throw new ServerError(message, response.status);
  };

  return {
    url,
    send,
    call,
    post: (path, body, init) =>
      call(path, { method: "POST", ...init, headers: { "content-type": "application/json", ...init?.headers }, body: JSON.stringify(body) }),
    async json(path, schema, init) {
      const reply = await (await call(path, init)).json();
      const parsed = v.safeParse(schema, reply);
      if (!parsed.success) throw new Error(`the server answered ${path} unexpectedly: ${v.summarize(parsed.issues)}`);
      return parsed.output;
    },
  };
}
