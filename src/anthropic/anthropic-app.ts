/**
 * Anthropic's Messages API as a Hono app with relative routes: mount it at
 * `/` and `/anthropic` (`/v1/messages`, `/v1/messages/count_tokens`), behind
 * the gateway's body limit and API key. Requests
 * are checked here, then proxied to the engine's native Messages API through
 * the engines layer's HTTP contract (tagged `anthropic/messages`), and its
 * output made exactly Anthropic's.
 */
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Logger } from "pino";
import * as v from "valibot";
import { OriginAnthropicMessages } from "../inference/origin.ts";
import { translateEngineStream } from "../ollama/engine-stream.ts";
import { createEnginesClient, type EnginesFetch } from "../ollama/engines-client.ts";
import { readRequestBody } from "../ollama/request-body.ts";
import { describeAnthropicError } from "./anthropic-error.ts";
import { CountTokensRequestSchema, MessagesRequestSchema } from "./messages-request.ts";
import { createMessageStreamNormalizer, normalizeMessage } from "./native-messages.ts";

export interface AnthropicAppOptions {
  /** The engines app's `fetch`, called in-process with paths relative to its mount. */
  readonly engines: EnginesFetch;
  readonly logger: Logger;
}

const CountTokensReplySchema = v.object({ input_tokens: v.number() });

export function createAnthropicApp(options: AnthropicAppOptions): Hono {
  const logger = options.logger.child({ component: "anthropic" });
  const engines = createEnginesClient(options.engines, OriginAnthropicMessages);

  const app = new Hono();
  app.onError((error, c) => {
    const { status, body } = describeAnthropicError(error);
    if (status >= 500) logger.warn({ err: error, path: c.req.path }, "anthropic request failed");
    return c.json(body, status as ContentfulStatusCode);
  });

  app.post("/v1/messages", async (c) => {
    const request = await readRequestBody(c.req, MessagesRequestSchema);
    const response = await engines.post("/v1/messages", request, c.req.raw.signal);
    if (!request.stream) return c.json(normalizeMessage(await response.json(), request.model));
    const events = translateEngineStream(response.body, createMessageStreamNormalizer(request.model));
    return streamSSE(c, async (stream) => {
      for await (const { event, data } of events) {
        if (stream.aborted) break;
        await stream.writeSSE({ event, data: JSON.stringify(data) });
      }
    });
  });

  app.post("/v1/messages/count_tokens", async (c) => {
    const request = await readRequestBody(c.req, CountTokensRequestSchema);
    const response = await engines.post("/v1/messages/count_tokens", request, c.req.raw.signal);
    const reply = v.parse(CountTokensReplySchema, await response.json());
    return c.json({ input_tokens: reply.input_tokens });
  });

  return app;
}
