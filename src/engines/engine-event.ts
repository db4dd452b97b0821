/**
 * One server-sent event of an engine's OpenAI stream (llama-server's, vLLM's),
 * read for any dialect's translator: the end (`[DONE]`), a chunk checked in
 * place (`engine-chunk.ts`), or why it is a failure (an `error` event, an
 * `error` field, an unreadable chunk), in the engine's own words.
 */
import type { EventSourceMessage } from "eventsource-parser";
import { isEngineChunk, type EngineChunk } from "./engine-chunk.ts";

export type EngineEventRead = "done" | { readonly chunk: EngineChunk } | { readonly failure: string };

export function readEngineEvent(event: EventSourceMessage): EngineEventRead {
  if (event.data === "[DONE]") return "done";
  const json = parseEventJson(event.data);
  if (event.event === "error") return { failure: engineErrorMessage(json) };
  if (!isEngineChunk(json)) return { failure: `the engine sent an unreadable event: ${event.data.slice(0, 200)}` };
  if (json.error !== undefined) return { failure: engineErrorMessage(json.error) };
  return { chunk: json };
}

/** The delta fields a token's text comes in. */
type TextField = "content" | "reasoning_content" | "reasoning";

/**
 * A token's event written as the last one was, but for its text: the text
 * before and after the delta's string (its quotes included), and which
 * field that string is.
 */
interface RepeatedShape {
  readonly before: string;
  readonly after: string;
  readonly field: TextField;
}

/**
 * `readEngineEvent` for one stream, with a shortcut for its tokens. Engines
 * write a token's chunk the same way each time (the same id, model, created
 * time and field order), so once a chunk that carries nothing but one piece
 * of text has been parsed, the next one that matches it byte for byte but for
 * that string is that string alone: it is read without parsing the chunk.
 * What differs anywhere else (a finish reason, usage, logprobs, the next
 * second in `created`) is parsed in full.
 */
export function createEngineEventReader(): (event: EventSourceMessage) => EngineEventRead {
  let shape: RepeatedShape | undefined;
  return (event) => {
    const { data } = event;
    if (shape && event.event === undefined) {
      const text = textInShape(data, shape);
      if (text !== undefined) return { chunk: textChunk(shape.field, text) };
    }
    const read = readEngineEvent(event);
    if (typeof read === "object" && "chunk" in read) shape = shapeOf(data, read.chunk) ?? shape;
    return read;
  };
}

/** The string `data` holds where `shape` has its text; undefined when `data` is not written so. */
function textInShape(data: string, { before, after }: RepeatedShape): string | undefined {
  const end = data.length - after.length;
  if (end < before.length || !data.startsWith(before) || !data.endsWith(after)) return undefined;
  const inside = data.slice(before.length, end);
  // Plain text is itself; escapes (or a quote that would end the string early) are JSON's to read.
  return needsDecoding.test(inside) ? jsonString(`"${inside}"`) : inside;
}

/** The string `literal` (quotes included) is in JSON; undefined when it is not one string. */
function jsonString(literal: string): string | undefined {
  try {
    const value: unknown = JSON.parse(literal);
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}

const needsDecoding = /["\\\u0000-\u001f]/;

function textChunk(field: TextField, text: string): EngineChunk {
  return { choices: [{ delta: field === "content" ? { content: text } : field === "reasoning_content" ? { reasoning_content: text } : { reasoning: text } }] };
}

/**
 * Where a chunk that carries only one piece of text holds it, so the next
 * like it can be read by `textInShape`; undefined for any other chunk. Such
 * a chunk is one choice with a delta of one string field: every other field
 * a translator reads is absent or null, so the text alone stands for it.
 */
function shapeOf(data: string, chunk: EngineChunk): RepeatedShape | undefined {
  if (chunk.usage != null || chunk.timings != null || chunk.error != null || chunk.content != null || chunk.stop != null || chunk.completion_probabilities != null) return undefined;
  const choice = chunk.choices?.length === 1 ? chunk.choices[0] : undefined;
  if (!choice || choice.finish_reason != null || choice.text != null || choice.logprobs != null || choice.stop_reason != null || !choice.delta) return undefined;
  const { content, reasoning_content, reasoning, tool_calls } = choice.delta;
  if (tool_calls != null) return undefined;
  const fields = [content, reasoning_content, reasoning].filter((value) => value != null);
  if (fields.length !== 1 || typeof fields[0] !== "string" || fields[0] === "") return undefined;
  const field: TextField = content != null ? "content" : reasoning_content != null ? "reasoning_content" : "reasoning";
  const at = uniqueKey(data, field);
  if (at === undefined) return undefined;
  const close = closingQuote(data, at);
  if (close === undefined || jsonString(data.slice(at, close + 1)) !== fields[0]) return undefined;
  // A key spelled with a \u escape elsewhere may be the delta's own, the one found another object's.
  if (data.lastIndexOf("\\u", at) !== -1 || data.indexOf("\\u", close) !== -1) return undefined;
  return { before: data.slice(0, at + 1), after: data.slice(close), field };
}

/**
 * Where the string value of `"field":` opens in `data`, when the key occurs
 * once: a key found once in JSON that parsed, and spelled without escapes
 * anywhere (see `shapeOf`), is the delta's own (an escaped quote before it
 * would put it inside another string).
 */
function uniqueKey(data: string, field: TextField): number | undefined {
  const key = `"${field}":`;
  const at = data.indexOf(key);
  if (at === -1 || data.indexOf(key, at + 1) !== -1 || data.charCodeAt(at - 1) === backslash) return undefined;
  let open = at + key.length;
  while (data.charCodeAt(open) === space) open += 1;
  return data.charCodeAt(open) === quote ? open : undefined;
}

/** The quote that closes the string opening at `open`. */
function closingQuote(data: string, open: number): number | undefined {
  for (let at = data.indexOf('"', open + 1); at !== -1; at = data.indexOf('"', at + 1)) {
    let backslashes = 0;
    while (data.charCodeAt(at - 1 - backslashes) === backslash) backslashes += 1;
    if (backslashes % 2 === 0) return at;
  }
  return undefined;
}

const backslash = 0x5c;
const quote = 0x22;
const space = 0x20;

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
