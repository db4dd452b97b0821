/**
 * The engine's native Messages output (llama-server's `/v1/messages`) made
 * exactly Anthropic's: the model named as the client named it, Anthropic's id
 * forms (`msg_…`, `toolu_…`), `input: {}` on a starting `tool_use` block, a
 * `ping` after `message_start`, and the engine's errors, in whatever shape,
 * as one Anthropic `error` event that ends the stream. A stream that stops
 * before `message_stop` ends with an error event too, never silently. Pure:
 * text in, server-sent events out, as written on the wire. A token's
 * `content_block_delta` is passed on as the engine wrote it, unparsed: there
 * is nothing in it to rename.
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { HTTPException } from "hono/http-exception";
import type { EventStreamTranslator } from "../engines/event-translation.ts";
import { sseEvent } from "../http/sse-event.ts";
import { isJsonObject, parseJsonObject, type JsonObject } from "../utilities/json-object.ts";
import { anthropicError, type AnthropicError } from "./anthropic-error.ts";
import { anthropicId } from "./anthropic-id.ts";

const incomplete = "the engine's stream ended before the message was complete";

/**
 * A whole (non-streamed) message from the engine, as Anthropic's.
 *
 * @throws HTTPException 502 when the engine's answer is no message
 */
export function normalizeMessage(message: unknown, model: string): JsonObject {
  if (!isJsonObject(message)) throw new HTTPException(502, { message: "the engine answered with no message" });
  const content = Array.isArray(message.content) ? message.content.map(normalizeBlock) : [];
  return { ...message, id: messageId(message.id), model, content };
}

export function createMessageStreamNormalizer(model: string): EventStreamTranslator<string> {
  let closed = false;
  const out: string[] = [];
  const emit = (type: string, json: JsonObject) => out.push(sseEvent(type, JSON.stringify(json)));

  const fail = (message: string) => {
    if (closed) return;
    closed = true;
    out.push(errorEvent(anthropicError("api_error", message)));
  };

  const onEvent = ({ event, data }: EventSourceMessage) => {
    if (closed) return;
    if (event === "content_block_delta") return void out.push(sseEvent(event, data));
    const json = parseJsonObject(data);
    if (!json) return fail(`the engine sent an unreadable event: ${data.slice(0, 200)}`);
    // llama-server's `event: error` and the proxy's OpenAI-shaped `data: {"error": …}`.
    if (event === "error" || json.type === "error" || (event === undefined && json.error !== undefined)) {
      return fail(errorMessage(json));
    }
    const type = typeof json.type === "string" ? json.type : event;
    if (type === undefined) return fail(`the engine sent an event without a type: ${data.slice(0, 200)}`);
    if (type === "message_start" && isJsonObject(json.message)) {
      emit(type, { ...json, message: normalizeMessage(json.message, model) });
      return void out.push(ping);
    }
    if (type === "content_block_start" && isJsonObject(json.content_block)) {
      return emit(type, { ...json, content_block: normalizeBlock(json.content_block) });
    }
    if (type === "message_stop") closed = true;
    out.push(sseEvent(type, data));
  };

  const parser = createParser({ onEvent });
  return {
    push: (text) => (parser.feed(text), out.splice(0)),
    end(failure) {
      parser.reset({ consume: true });
      fail(failure ? `the engine's stream broke: ${failure}` : incomplete);
      return out.splice(0);
    },
  };
}

export function errorEvent(error: AnthropicError): string {
  return sseEvent("error", JSON.stringify(error));
}

/** Anthropic's keep-alive, sent after `message_start` as Anthropic does. */
export const ping = sseEvent("ping", '{"type":"ping"}');

function normalizeBlock(block: unknown): unknown {
  if (!isJsonObject(block) || block.type !== "tool_use") return block;
  return { ...block, id: anthropicId("toolu_", block.id), input: isJsonObject(block.input) ? block.input : {} };
}

/** llama-server names messages after its chat completions (`chatcmpl-…`). */
function messageId(id: unknown): string {
  return anthropicId("msg_", typeof id === "string" ? id.replace(/^chatcmpl-/, "") : id);
}

/** `{message}` (llama-server), `{error: {message}}` (OpenAI, the proxy), Anthropic's own, or the JSON itself. */
function errorMessage(json: JsonObject): string {
  const inner = isJsonObject(json.error) ? json.error : json;
  if (typeof inner.message === "string" && inner.message) return inner.message;
  if (typeof json.error === "string" && json.error) return json.error;
  return `the engine failed: ${JSON.stringify(json)}`;
}
