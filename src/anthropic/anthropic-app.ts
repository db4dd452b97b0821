/**
 * Anthropic's Messages API as a Hono app with relative routes: mount it at
 * `/` and `/anthropic` (`/v1/messages`, `/v1/messages/count_tokens`), behind
 * the gateway's body limit and API key. Requests
 * are checked here, then proxied to the engine's native Messages API through
 * the engines layer's HTTP contract (tagged `anthropic/messages`), and its
 * output made exactly Anthropic's.
 */
import { Hono, type Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Logger } from "pino";
import * as v from "valibot";
import { streamWrittenEvents } from "../http/sse-event.ts";
import { OriginAnthropicMessages } from "../inference/origin.ts";
import { translateEngineStream } from "../ollama/engine-stream.ts";
import { createEnginesClient, loadDurationMs, type EnginesFetch } from "../ollama/engines-client.ts";
import { readRequestBody } from "../ollama/request-body.ts";
import { describeAnthropicError } from "./anthropic-error.ts";
import { newAnthropicId } from "./anthropic-id.ts";
import { chatPrompt, chatRequestBody } from "./chat-request.ts";
import { createChatStreamTranslator } from "./chat-stream.ts";
import { CountTokensRequestSchema, MessagesRequestSchema, type CountTokensRequest, type MessagesRequest } from "./messages-request.ts";
import { createMessageStreamNormalizer, normalizeMessage } from "./native-messages.ts";
import { createNativeRouteProbe } from "./native-route-probe.ts";

export interface AnthropicAppOptions {
  /** The engines app's `fetch`, called in-process with paths relative to its mount. */
  readonly engines: EnginesFetch;
  readonly logger: Logger;
}

const CountTokensReplySchema = v.object({ input_tokens: v.number() });
const TokenizeReplySchema = v.object({ count: v.number() });

export function createAnthropicApp(options: AnthropicAppOptions): Hono {
  const logger = options.logger.child({ component: "anthropic" });
  const engines = createEnginesClient(options.engines, OriginAnthropicMessages);
  const probe = createNativeRouteProbe();

  /** The runner's own Messages API; undefined when it is known, or now found, to lack the route. */
  const postNative = async (path: string, request: CountTokensRequest, signal: AbortSignal): Promise<Response | undefined> => {
    if (!probe.native(request.model)) return undefined;
    return engines.post(path, request, signal).catch((error: unknown) => {
      if (probe.lacking(request.model, error)) return undefined;
      throw error;
    });
  };

  /** The engine's native answer, made Anthropic's; undefined when its runner lacks the route. */
  const native = async (c: Context, request: MessagesRequest): Promise<Response | undefined> => {
    const response = await postNative("/v1/messages", request, c.req.raw.signal);
    if (!response) return undefined;
    if (!request.stream) return c.json(normalizeMessage(await response.json(), request.model));
    return streamWrittenEvents(c, translateEngineStream(response.body, createMessageStreamNormalizer(request.model)));
  };

  /** The request as a chat completion, its stream translated to Anthropic's events (or folded into the message). */
  const translated = async (c: Context, request: MessagesRequest): Promise<Response> => {
    const response = await engines.post("/v1/chat/completions", chatRequestBody(request), c.req.raw.signal);
    if (loadDurationMs(response) > 0) probe.runnerLoaded(request.model);
    const translator = createChatStreamTranslator({ model: request.model, stopSequences: request.stop_sequences ?? [], newId: newAnthropicId });
    const events = translateEngineStream(response.body, translator);
    if (request.stream) return streamWrittenEvents(c, events);
    for await (const _ of events);
    const failure = translator.failure();
    if (failure !== undefined) throw new Error(failure);
    return c.json(translator.message());
  };

  const app = new Hono();
  app.onError((error, c) => {
    const { status, body } = describeAnthropicError(error);
    if (status >= 500) logger.warn({ err: error, path: c.req.path }, "anthropic request failed");
    return c.json(body, status as ContentfulStatusCode);
  });

  app.post("/v1/messages", async (c) => {
    const request = await readRequestBody(c.req, MessagesRequestSchema);
    return (await native(c, request)) ?? translated(c, request);
  });

  app.post("/v1/messages/count_tokens", async (c) => {
    const request = await readRequestBody(c.req, CountTokensRequestSchema);
    const signal = c.req.raw.signal;
    const response = await postNative("/v1/messages/count_tokens", request, signal);
    if (response) return c.json({ input_tokens: v.parse(CountTokensReplySchema, await response.json()).input_tokens });
    // vLLM's own count of the templated chat (vllm/entrypoints/openai/protocol.py TokenizeChatRequest).
    const tokenized = await engines.post("/tokenize", { ...chatPrompt(request), add_generation_prompt: true }, signal);
    return c.json({ input_tokens: v.parse(TokenizeReplySchema, await tokenized.json()).count });
  });

  return app;
}
