/**
 * A plain completion's reply told as a chat completion's, for a `/v1` chat
 * whose prompt the gateway rendered with the model's Go template (as Ollama
 * renders it) and sent as a completion: each `text_completion` chunk becomes a
 * `chat.completion.chunk` whose delta carries the text, the first one saying
 * the role; a whole reply becomes a `chat.completion` with one message.
 * Usage, timings, ids and logprobs go along; refusals pass as they are.
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { parseJsonObject, type JsonObject } from "../utilities/json-object.ts";

/** @example return chatFromCompletion(await engines.fetch(completionRequest)) */
export function chatFromCompletion(response: Response): Response {
  if (!response.ok || !response.body) return response;
  const headers = new Headers(response.headers);
  headers.delete("content-length");
  const streamed = headers.get("content-type")?.startsWith("text/event-stream") ?? false;
  const body = streamed ? response.body.pipeThrough(chatEvents()) : response.body.pipeThrough(wholeChat());
  return new Response(body, { status: response.status, headers });
}

function chatEvents(): TransformStream<Uint8Array, Uint8Array> {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  let first = true;
  let emit: (text: string) => void = () => {};
  const parser = createParser({
    onEvent(event: EventSourceMessage) {
      const chunk = event.data === "[DONE]" ? undefined : parseJsonObject(event.data);
      const choices = chunk && Array.isArray(chunk.choices) ? (chunk.choices as JsonObject[]) : undefined;
      // Anything else (`[DONE]`, an error event) goes as it came.
      const data = chunk && choices ? JSON.stringify(chatChunk(chunk, choices, first)) : event.data;
      if (choices?.length) first = false;
      emit(`${event.event ? `event: ${event.event}\n` : ""}data: ${data}\n\n`);
    },
  });
  return new TransformStream({
    transform(chunk, controller) {
      emit = (text) => controller.enqueue(encoder.encode(text));
      parser.feed(decoder.decode(chunk, { stream: true }));
    },
    flush(controller) {
      emit = (text) => controller.enqueue(encoder.encode(text));
      parser.feed(decoder.decode());
      parser.reset({ consume: true });
    },
  });
}

/** A completion chunk as a chat chunk: the text in the delta, the role on the first. */
function chatChunk(chunk: JsonObject, choices: readonly JsonObject[], first: boolean): JsonObject {
  const deltas = choices.map(({ text, ...choice }) => ({
    ...choice,
    delta: { ...(first ? { role: "assistant" } : {}), ...(typeof text === "string" && text !== "" ? { content: text } : {}) },
  }));
  return { ...chunk, object: "chat.completion.chunk", choices: deltas };
}

function wholeChat(): TransformStream<Uint8Array, Uint8Array> {
  const parts: Uint8Array[] = [];
  return new TransformStream({
    transform(chunk) {
      parts.push(chunk);
    },
    flush(controller) {
      const text = Buffer.concat(parts).toString("utf8");
      const reply = parseJsonObject(text);
      if (!reply || !Array.isArray(reply.choices)) return controller.enqueue(new TextEncoder().encode(text));
      const choices = (reply.choices as JsonObject[]).map(({ text: content, ...choice }) => ({ ...choice, message: { role: "assistant", content: content ?? "" } }));
      controller.enqueue(new TextEncoder().encode(JSON.stringify({ ...reply, object: "chat.completion", choices })));
    },
  });
}

