/**
 * A dialect's event stream written as server-sent event text (Anthropic's,
 * OpenAI Responses'): the translator's pieces are already the bytes to send,
 * one event each, so the reply goes straight to Node's response
 * (`streamReply`) with nothing built per token but the text. `tokens`, the
 * engine's counts as the metrics read them, are what the translation states
 * too: the request log takes them rather than parse the events sent.
 */
import type { Readable } from "node:stream";
import type { Context } from "hono";
import { streamReply, type ReplyHead } from "../http/stream-reply.ts";
import { encodedTranslation, type PieceTranslation } from "./event-translation.ts";

const eventStreamHead: ReplyHead = { status: 200, headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } };

export function streamEventText(c: Context, body: Readable, events: PieceTranslation<string>, tokens?: ReplyHead["tokens"]): Response {
  return streamReply(c, tokens ? { ...eventStreamHead, tokens } : eventStreamHead, body, encodedTranslation(events, (text) => Buffer.from(text)));
}
