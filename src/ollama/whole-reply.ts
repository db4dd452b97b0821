/**
 * An engine's whole chat reply (`stream: false`) told as the event stream the
 * stream translator reads: one delta with all the message, the finish, the
 * usage and timings. Asked for where streaming would lose text: llama-server's
 * streaming parser holds a tool call back until it parses, so a call cut off
 * by the token limit is never sent, while its whole reply carries the text
 * produced, which is what Ollama answers (server/routes.go, `toolParser.Content()`).
 */
import { Readable } from "node:stream";
import type { Choice, EngineChunk } from "../engines/engine-chunk.ts";

interface WholeChoice {
  readonly message?: {
    readonly content?: string | null;
    readonly reasoning_content?: string | null;
    readonly reasoning?: string | null;
    readonly tool_calls?: readonly { readonly id?: string; readonly function?: { readonly name?: string; readonly arguments?: string } }[] | null;
  } | null;
  readonly finish_reason?: string | null;
  readonly logprobs?: Choice["logprobs"];
}

interface WholeReply {
  readonly choices?: readonly WholeChoice[] | null;
  readonly usage?: EngineChunk["usage"];
  readonly timings?: EngineChunk["timings"];
}

/** The body asking for one whole reply (vLLM refuses `stream_options` then). */
export function wholeReplyBody({ stream_options: _options, ...body }: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return { ...body, stream: false };
}

/**
 * The engine's whole reply, read to its end (which releases its runner), as events.
 *
 * @example collectPieces(await wholeReplyEvents(reply.body), lines)
 */
export async function wholeReplyEvents(body: Readable): Promise<Readable> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Readable.from([Buffer.from(wholeReplyText(Buffer.concat(chunks).toString("utf8")))]);
}

/** The events of one whole reply; a body that is no reply goes as it is, for the translator to refuse in its words. */
export function wholeReplyText(text: string): string {
  let reply: WholeReply;
  try {
    reply = JSON.parse(text) as WholeReply;
  } catch {
    return event(text);
  }
  const choice = reply?.choices?.[0];
  if (!choice) return event(text);
  const { content, reasoning_content, reasoning, tool_calls } = choice.message ?? {};
  const delta = {
    ...(content ? { content } : {}),
    ...(reasoning_content || reasoning ? { reasoning_content: reasoning_content || reasoning } : {}),
    ...(tool_calls?.length ? { tool_calls: tool_calls.map((call, index) => ({ index, ...call })) } : {}),
  };
  return [
    event(JSON.stringify({ choices: [{ delta, finish_reason: null, ...(choice.logprobs ? { logprobs: choice.logprobs } : {}) }] })),
    event(JSON.stringify({ choices: [{ delta: {}, finish_reason: choice.finish_reason ?? "stop" }] })),
    event(JSON.stringify({ choices: [], ...(reply.usage ? { usage: reply.usage } : {}), ...(reply.timings ? { timings: reply.timings } : {}) })),
    event("[DONE]"),
  ].join("");
}

function event(data: string): string {
  return `data: ${data.replaceAll("\n", "\ndata: ")}\n\n`;
}
