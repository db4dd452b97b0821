import { replyFormatter, type OllamaStreamLine, type ReplyShape } from "../../../src/ollama/ollama-replies.ts";
import { createStreamTranslator } from "../../../src/ollama/stream-translator.ts";

export interface TranslateOptions {
  readonly shape?: ReplyShape;
  /** How the text is cut before it is fed: whole, into pieces of this many characters. */
  readonly pieceLength?: number;
  /** Passed to `end()`, as when the upstream broke. */
  readonly failure?: string;
  readonly loadDurationMs?: number;
  readonly topLogprobs?: number;
}

/** A clock that advances 10 ms on every reading, starting at 1000. */
export function steppingClock(): () => number {
  let t = 1000;
  return () => (t += 10);
}

/** Runs SSE text through a translator with a fixed date, a stepping clock and numbered tool-call ids. */
export function translate(sse: string, options: TranslateOptions = {}): OllamaStreamLine[] {
  let ids = 0;
  const translator = createStreamTranslator({
    formatter: replyFormatter(options.shape ?? "chat", "tiny:latest", () => Date.parse("2026-01-01T00:00:00.000Z")),
    startedAt: 1000,
    now: steppingClock(),
    newToolCallId: () => `call_${String(++ids).padStart(8, "0")}`,
    ...(options.loadDurationMs === undefined ? {} : { loadDurationMs: options.loadDurationMs }),
    ...(options.topLogprobs === undefined ? {} : { topLogprobs: options.topLogprobs }),
  });
  const step = options.pieceLength ?? sse.length;
  const lines: OllamaStreamLine[] = [];
  for (let i = 0; i < sse.length; i += Math.max(step, 1)) lines.push(...translator.push(sse.slice(i, i + step)));
  lines.push(...translator.end(options.failure));
  return lines;
}

/** One `data:` event per object, as llama-server writes them. */
export function sse(...events: (object | string)[]): string {
  return events.map((event) => `data: ${typeof event === "string" ? event : JSON.stringify(event)}\n\n`).join("");
}

export function chatChunk(delta: object, finishReason: string | null = null, extra: object = {}): object {
  return {
    choices: [{ finish_reason: finishReason, index: 0, delta }],
    created: 1767225600,
    id: "chatcmpl-test",
    model: "tiny",
    object: "chat.completion.chunk",
    ...extra,
  };
}

export const usageChunk = (prompt: number, completion: number, extra: object = {}): object => ({
  choices: [],
  object: "chat.completion.chunk",
  usage: { completion_tokens: completion, prompt_tokens: prompt, total_tokens: prompt + completion },
  ...extra,
});

export const timings = { cache_n: 2, prompt_n: 5, prompt_ms: 1.5, predicted_n: 3, predicted_ms: 4.25 };
