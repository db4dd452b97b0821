import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface SlowEngine {
  /** `http://127.0.0.1:port`, for `MODELGATE_EXTERNAL_ENGINES`. */
  readonly url: string;
  /** The one model it lists. */
  readonly model: string;
  close(): Promise<void>;
}

/**
 * A stand-in OpenAI-compatible engine (not llama-server) that streams one
 * word every `intervalMs` until `max_tokens`: streams that stay open for as
 * long as a bench needs, at no CPU cost, so what is measured is the gateway's
 * share of each. Served to the gateway as an external engine, through the
 * same runner proxy as local runners.
 */
export async function startSlowEngine(intervalMs: number): Promise<SlowEngine> {
  const model = "slow";
  const server: Server = createServer(async (request, response) => {
    if (request.method === "GET" && request.url === "/v1/models") {
      response.setHeader("content-type", "application/json");
      response.end(JSON.stringify({ object: "list", data: [{ id: model, object: "model", owned_by: "bench" }] }));
      return;
    }
    if (request.method !== "POST" || request.url !== "/v1/chat/completions") {
      response.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString()) as { max_tokens?: number };
    const tokens = body.max_tokens ?? 16;
    response.writeHead(200, { "content-type": "text/event-stream" });
    const event = (delta: object, finishReason: string | null, extra: object = {}) =>
      `data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", created: 0, model, choices: [{ index: 0, delta, finish_reason: finishReason }], ...extra })}\n\n`;
    let sent = 0;
    const timer = setInterval(() => {
      if (sent < tokens) {
        response.write(event({ content: "word " }, null));
        sent += 1;
        return;
      }
      clearInterval(timer);
      response.end(`${event({}, "length", { usage: { prompt_tokens: 1, completion_tokens: sent, total_tokens: sent + 1 } })}data: [DONE]\n\n`);
    }, intervalMs);
    response.once("close", () => clearInterval(timer));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    model,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
