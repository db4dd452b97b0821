/**
 * One server-sent event of an engine's OpenAI stream (llama-server's, vLLM's),
 * read for any dialect's translator: the end (`[DONE]`), a chunk checked in
 * place (`engine-chunk.ts`), or why it is a failure (an `error` event, an
 * `error` field, an unreadable chunk), in the engine's own words.
 */
import type { EventSourceMessage } from "eventsource-parser";
import { isEngineChunk, type EngineChunk } from "./engine-chunk.ts";

export function readEngineEvent(event: EventSourceMessage): "done" | { readonly chunk: EngineChunk } | { readonly failure: string } {
  if (event.data === "[DONE]") return "done";
  const json = parseEventJson(event.data);
  if (event.event === "error") return { failure: engineErrorMessage(json) };
  if (!isEngineChunk(json)) return { failure: `the engine sent an unreadable event: ${event.data.slice(0, 200)}` };
  if (json.error !== undefined) return { failure: engineErrorMessage(json.error) };
  return { chunk: json };
}

/** The JSON value of `text`, or the text itself when it is none. */
export function parseEventJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** `{message}` (OpenAI, llama-server), `{error: …}` around it, a bare string, or anything else as JSON. */
export function engineErrorMessage(error: unknown): string {
  if (typeof error === "string" && error) return error;
  if (typeof error === "object" && error !== null && !Array.isArray(error)) {
    const fields = error as Record<string, unknown>;
    if (typeof fields.message === "string") return fields.message;
    if (fields.error !== undefined) return engineErrorMessage(fields.error);
  }
  return `the engine failed: ${JSON.stringify(error)}`;
}
