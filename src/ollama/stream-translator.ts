/**
 * The engine's OpenAI server-sent events (chat `chat.completion.chunk`s or
 * `text_completion` chunks, as llama-server and vLLM send them) turned into
 * Ollama's reply objects. Pure: text in, objects out; the clock and the
 * tool-call ids are injected, so every rule is tested by feeding strings.
 *
 * The rules clients depend on: output goes out as it arrives; tool calls are
 * accumulated by index and go out whole, arguments parsed to an object;
 * exactly one `done` object ends a good stream, carrying every count and
 * duration (counts nowhere else: LangChain sums them over all chunks); an
 * engine error or a stream that stops before `finish_reason` ends with one
 * `{error}` object instead.
 */
import { createParser, type EventSourceMessage, type ParseError } from "eventsource-parser";
import type { Choice, EngineChunk, EngineLogprob, Timings, ToolCallDelta, Usage } from "../engines/engine-chunk.ts";
import { createEngineEventReader, engineErrorMessage, parseEventJson } from "../engines/engine-event.ts";
import {
  nanoseconds,
  type DoneMetrics,
  type DoneReason,
  type Logprob,
  type OllamaStreamLine,
  type ReplyFormatter,
  type TokenLogprob,
  type ToolCall,
} from "./ollama-replies.ts";
import { newToolCallId } from "./tool-call-id.ts";

export interface StreamTranslatorOptions {
  readonly formatter: ReplyFormatter;
  /** When the Ollama request arrived, in `now`'s milliseconds. */
  readonly startedAt: number;
  /** Milliseconds spent loading the runner for this request, when the engines layer says. */
  readonly loadDurationMs?: number;
  /** A monotonic clock in milliseconds. */
  readonly now?: () => number;
  readonly newToolCallId?: () => string;
  /** Set when the client asked for log probabilities: how many alternatives each token keeps. */
  readonly topLogprobs?: number;
}

export interface StreamTranslator {
  /** Feeds a piece of the event stream, cut anywhere; returns the objects it completes. */
  push(text: string): OllamaStreamLine[];
  /**
   * The upstream ended (`failure` says why, when it broke). Returns the closing
   * objects: the final `done` object, or an `{error}` when the reply is incomplete;
   * nothing when the stream had already closed.
   */
  end(failure?: string): OllamaStreamLine[];
}

interface PendingToolCall {
  id: string | undefined;
  name: string;
  arguments: string;
}

type Phase = "streaming" | "finished" | "closed";

export function createStreamTranslator(options: StreamTranslatorOptions): StreamTranslator {
  const { formatter, startedAt, loadDurationMs = 0, now = () => performance.now(), topLogprobs } = options;
  const makeId = options.newToolCallId ?? newToolCallId;
  const readEvent = createEngineEventReader();

  let phase: Phase = "streaming";
  let doneReason: DoneReason = "stop";
  let timings: Timings | undefined;
  let usage: Usage | undefined;
  let firstOutputAt: number | undefined;
  let outputPieces = 0;
  const toolCalls = new Map<number, PendingToolCall>();
  let out: OllamaStreamLine[] = [];

  const fail = (message: string) => {
    if (phase === "closed") return;
    phase = "closed";
    out.push({ error: message });
  };

  const close = () => {
    if (phase !== "finished") return;
    phase = "closed";
    out.push(formatter.done(doneReason, metrics()));
  };

  const metrics = (): DoneMetrics => {
    const endedAt = now();
    const firstOutput = firstOutputAt ?? endedAt;
    return {
      total_duration: nanoseconds(endedAt - startedAt),
      load_duration: nanoseconds(loadDurationMs),
      prompt_eval_count: usage?.prompt_tokens ?? (timings ? timings.prompt_n + (timings.cache_n ?? 0) : 0),
      prompt_eval_duration: nanoseconds(timings?.prompt_ms ?? Math.max(0, firstOutput - startedAt - loadDurationMs)),
      eval_count: usage?.completion_tokens ?? timings?.predicted_n ?? outputPieces,
      eval_duration: nanoseconds(timings?.predicted_ms ?? endedAt - firstOutput),
    };
  };

  const noteOutput = () => {
    firstOutputAt ??= now();
    outputPieces += 1;
  };

  const finish = (reason: string) => {
    doneReason = reason === "length" ? "length" : "stop";
    phase = "finished";
    if (toolCalls.size === 0) return;
    const calls = completeToolCalls(toolCalls, makeId);
    if (typeof calls !== "string") out.push(formatter.chunk({ content: "", toolCalls: calls }));
    // Cut off by the token limit, a call is text that went unfinished, as Ollama answers it.
    else if (doneReason === "length") out.push(formatter.chunk({ content: unfinishedCallsText(toolCalls) }));
    else fail(calls);
  };

  const onEvent = (event: EventSourceMessage) => {
    if (phase === "closed") return;
    const read = readEvent(event);
    if (read === "done") return phase === "finished" ? close() : fail(incomplete);
    if ("failure" in read) return fail(read.failure);
    const { chunk } = read;
    if (chunk.timings) timings = chunk.timings;
    if (chunk.usage) usage = chunk.usage;
    // Only the first choice: Ollama has no `n`.
    const choice = chunk.choices?.[0] ?? nativeChoice(chunk);
    if (!choice || phase !== "streaming") return;
    const content = choice.delta?.content ?? choice.text ?? "";
    const thinking = choice.delta?.reasoning_content ?? choice.delta?.reasoning ?? "";
    const logprobs = topLogprobs === undefined ? undefined : ollamaLogprobs(choice.logprobs?.content, topLogprobs);
    // A piece of a tool call shows no text, but its tokens' probabilities go out as they come, as in Ollama.
    if (content || thinking || logprobs) {
      if (content || thinking) noteOutput();
      out.push(formatter.chunk(thinking || logprobs ? { content, ...(thinking ? { thinking } : {}), ...(logprobs ? { logprobs } : {}) } : { content }));
    }
    for (const delta of choice.delta?.tool_calls ?? noToolCalls) {
      noteOutput();
      const index = delta.index ?? 0;
      const call = toolCalls.get(index) ?? { id: undefined, name: "", arguments: "" };
      call.id ||= delta.id ?? undefined;
      call.name ||= delta.function?.name ?? "";
      call.arguments += delta.function?.arguments ?? "";
      toolCalls.set(index, call);
    }
    if (choice.finish_reason) finish(choice.finish_reason);
  };

  const parser = createParser({
    onEvent,
    // llama-server writes `error: {...}` lines on some paths; everything else unknown is noise.
    onError: (error: ParseError) => {
      if (error.type === "unknown-field" && error.field === "error") fail(engineErrorMessage(parseEventJson(error.value ?? "")));
    },
  });

  const drain = () => {
    const lines = out;
    out = [];
    return lines;
  };

  return {
    push(text) {
      parser.feed(text);
      return drain();
    },
    end(failure) {
      parser.reset({ consume: true });
      if (phase === "finished") close();
      else fail(failure ? `the engine's stream broke: ${failure}` : incomplete);
      return drain();
    },
  };
}

const incomplete = "the engine's stream ended before the reply was complete";

const noToolCalls: readonly ToolCallDelta[] = [];

/** llama-server's native chunk (`/infill`) read as a choice: its text, and `stop` with why. */
function nativeChoice(chunk: EngineChunk): Choice | undefined {
  if (typeof chunk.content !== "string" && !chunk.stop) return undefined;
  return {
    text: chunk.content ?? "",
    finish_reason: chunk.stop ? (chunk.stop_type === "limit" ? "length" : "stop") : null,
    logprobs: { content: chunk.completion_probabilities ?? null },
  };
}

/** The engine's probabilities in Ollama's shape; the engine computes at least one alternative, `top` keeps as many as asked. */
function ollamaLogprobs(content: readonly EngineLogprob[] | null | undefined, top: number): Logprob[] | undefined {
  if (!content?.length) return undefined;
  return content.map((item) => ({
    ...tokenLogprob(item),
    ...(top > 0 && item.top_logprobs?.length ? { top_logprobs: item.top_logprobs.slice(0, top).map(tokenLogprob) } : {}),
  }));
}

function tokenLogprob({ token, logprob, bytes }: EngineLogprob): TokenLogprob {
  return { token, logprob, ...(bytes ? { bytes } : {}) };
}

/** The accumulated calls in index order, or why one of them is unusable. */
function completeToolCalls(pending: ReadonlyMap<number, PendingToolCall>, makeId: () => string): ToolCall[] | string {
  const calls: ToolCall[] = [];
  for (const [index, call] of [...pending].sort(([a], [b]) => a - b)) {
    const args = parseArguments(call.arguments);
    if (!args) return `the engine produced tool call arguments that are not a JSON object: ${call.arguments.slice(0, 200)}`;
    calls.push({ id: call.id ?? makeId(), function: { index, name: call.name, arguments: args } });
  }
  return calls;
}

/**
 * The calls as far as the engine got, in the JSON a call is written in
 * (`{"name": "get_weather", "arguments": {"city": "Pa`): the engine's parser
 * keeps the template's own tags, so this is the text short of them.
 */
function unfinishedCallsText(pending: ReadonlyMap<number, PendingToolCall>): string {
  return [...pending]
    .sort(([a], [b]) => a - b)
    .map(([, call]) => `{"name": ${JSON.stringify(call.name)}, "arguments": ${call.arguments}`)
    .join("\n");
}

function parseArguments(text: string): Record<string, unknown> | undefined {
  if (text.trim() === "") return {};
  let value = parseEventJson(text);
  // Some templates double-encode: a JSON string holding the object.
  if (typeof value === "string" && value !== text) value = parseEventJson(value);
  return isPlainObject(value) ? value : undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
