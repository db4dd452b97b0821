/**
 * Anthropic's Messages API as a Hono app with relative routes: mount it at
 * `/` and `/anthropic` (`/v1/messages`, `/v1/messages/count_tokens`), behind
 * the gateway's body limit and API key. Requests are checked here, then sent
 * through the engines contract (tagged `anthropic/messages`) to the engine's
 * native Messages API, and its output made exactly Anthropic's; a runner
 * without that API (vLLM before 0.11.1) gets the request as a chat
 * completion, its answer translated back. Streams go straight to Node's
 * response as server-sent event text.
 */
import { json } from "node:stream/consumers";
import { Hono, type Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Logger } from "pino";
import * as v from "valibot";
import { streamEventText } from "../engines/event-text.ts";
import { pieceTranslation, readPieces } from "../engines/event-translation.ts";
import type { EnginePath, EngineReply, Engines } from "../engines/engines.ts";
import { readRequestBody } from "../http/request-body.ts";
import { OriginAnthropicMessages } from "../inference/origin.ts";
import { anthropicRefusal, describeAnthropicError } from "./anthropic-error.ts";
import { newAnthropicId } from "./anthropic-id.ts";
import { chatPrompt, chatRequestBody } from "./chat-request.ts";
import { createChatStreamTranslator } from "./chat-stream.ts";
import { CountTokensRequestSchema, MessagesRequestSchema, type CountTokensRequest, type MessagesRequest } from "./messages-request.ts";
import { createMessageStreamNormalizer, normalizeMessage } from "./native-messages.ts";
import { createNativeRouteProbe } from "./native-route-probe.ts";

export interface AnthropicAppOptions {
  readonly engines: Engines;
  readonly logger: Logger;
}

const CountTokensReplySchema = v.object({ input_tokens: v.number() });

function refusal(status: number, message: string, headers?: Record<string, string>): Response {
  const { body, status: answered } = anthropicRefusal(status, message);
  return Response.json(body, { status: answered, ...(headers ? { headers } : {}) });
}
const TokenizeReplySchema = v.object({ count: v.number() });

export function createAnthropicApp(options: AnthropicAppOptions): Hono {
  const logger = options.logger.child({ component: "anthropic" });
  const probe = createNativeRouteProbe();

  const send = (path: EnginePath, body: Readonly<Record<string, unknown>>, signal: AbortSignal): Promise<EngineReply> =>
    options.engines.send({ path, body, origin: OriginAnthropicMessages, signal });

  /** The runner's own Messages API; undefined when it is known, or now found, to lack the route. */
  const sendNative = async (path: EnginePath, request: CountTokensRequest, signal: AbortSignal): Promise<EngineReply | undefined> => {
    if (!probe.native(request.model)) return undefined;
    return send(path, request, signal).catch((error: unknown) => {
      if (probe.lacking(request.model, error)) return undefined;
      throw error;
    });
  };

  /** The engine's native answer, made Anthropic's; undefined when its runner lacks the route. */
  const native = async (c: Context, request: MessagesRequest): Promise<Response | undefined> => {
    const reply = await sendNative("/v1/messages", request, c.req.raw.signal);
    if (!reply) return undefined;
    if (!request.stream) return c.json(normalizeMessage(await json(reply.body), request.model));
    return streamEventText(c, reply.body, pieceTranslation(createMessageStreamNormalizer(request.model)));
  };

  /** The request as a chat completion, its stream translated to Anthropic's events (or folded into the message). */
  const translated = async (c: Context, request: MessagesRequest): Promise<Response> => {
    const reply = await send("/v1/chat/completions", chatRequestBody(request), c.req.raw.signal);
    if (reply.loadDurationMs > 0) probe.runnerLoaded(request.model);
    const translator = createChatStreamTranslator({ model: request.model, stopSequences: request.stop_sequences ?? [], newId: newAnthropicId });
    // Its usage is the engine's (asked for with include_usage).
    if (request.stream) return streamEventText(c, reply.body, pieceTranslation(translator), reply.usage);
    await readPieces(reply.body, pieceTranslation(translator));
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
    const reply = await sendNative("/v1/messages/count_tokens", request, signal);
    if (reply) return c.json({ input_tokens: v.parse(CountTokensReplySchema, await json(reply.body)).input_tokens });
    // vLLM's own count of the templated chat (vllm/entrypoints/openai/protocol.py TokenizeChatRequest).
    const tokenized = await send("/tokenize", { ...chatPrompt(request), add_generation_prompt: true }, signal);
    return c.json({ input_tokens: v.parse(TokenizeReplySchema, await json(tokenized.body)).count });
  });

  // As Anthropic answers them, rather than letting the gateway's `/v1` alias
  // hand them to the engines (OpenAI's shape): a wrong method (api.anthropic.com
  // answers a GET of /v1/messages with this 405) and a path the API lacks.
  for (const path of ["/v1/messages", "/v1/messages/count_tokens"]) {
    app.all(path, () => refusal(405, "Method Not Allowed", { Allow: "POST" }));
  }
  app.all("/v1/messages/*", (c) => refusal(404, `${c.req.method} ${c.req.path} not found`));

  return app;
}
