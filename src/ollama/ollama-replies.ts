/**
 * The objects Ollama's `/api/chat` and `/api/generate` answer with, and the
 * one place that builds them, so the streaming and the aggregated paths (and
 * the load/unload answers) cannot drift apart.
 */

/** `/api/chat` answers with `message`, `/api/generate` with `response`. */
export type ReplyShape = "chat" | "generate";

/** Why a reply ended; `load`/`unload` answer an empty prompt. */
export type DoneReason = "stop" | "length" | "load" | "unload";

/** Integer nanoseconds and token counts; they appear on the final object only. */
export interface DoneMetrics {
  readonly total_duration: number;
  readonly load_duration: number;
  readonly prompt_eval_count: number;
  readonly prompt_eval_duration: number;
  readonly eval_count: number;
  readonly eval_duration: number;
}

export interface ToolCall {
  readonly id: string;
  readonly function: {
    readonly index: number;
    readonly name: string;
    readonly arguments: Record<string, unknown>;
  };
}

/** A token's log probability, in Ollama's shape. */
export interface TokenLogprob {
  readonly token: string;
  readonly logprob: number;
  readonly bytes?: readonly number[];
}

/** A generated token's log probability, with the likeliest alternatives when asked for (`top_logprobs`). */
export interface Logprob extends TokenLogprob {
  readonly top_logprobs?: readonly TokenLogprob[];
}

export interface AssistantMessage {
  readonly role: "assistant";
  /** Always present, even empty: clients read it unconditionally. */
  readonly content: string;
  readonly thinking?: string;
  readonly tool_calls?: readonly ToolCall[];
}

interface ReplyHead {
  readonly model: string;
  readonly created_at: string;
  /** Only when asked for (`logprobs: true`): the tokens of this piece, or of the whole reply when folded. */
  readonly logprobs?: readonly Logprob[];
}

export type ChatReply =
  | (ReplyHead & { readonly message: AssistantMessage; readonly done: false })
  | (ReplyHead & { readonly message: AssistantMessage; readonly done: true; readonly done_reason: DoneReason } & DoneMetrics);

export type GenerateReply =
  | (ReplyHead & { readonly response: string; readonly thinking?: string; readonly done: false })
  | (ReplyHead & {
      readonly response: string;
      readonly thinking?: string;
      readonly done: true;
      readonly done_reason: DoneReason;
      /** The conversation's token ids (prompt and reply), for a templated reply; empty otherwise. */
      readonly context: readonly number[];
    } & DoneMetrics);

/** What a stream carries instead of a `done` object when it fails after its first byte. */
export interface ErrorReply {
  readonly error: string;
}

export type OllamaReply = ChatReply | GenerateReply;
export type OllamaStreamLine = OllamaReply | ErrorReply;

/** A piece of generated output, shape-neutral. */
export interface Output {
  readonly content: string;
  readonly thinking?: string;
  readonly toolCalls?: readonly ToolCall[];
  readonly logprobs?: readonly Logprob[];
}

/** Builds the objects of one reply; `model` and the clock are fixed per request. */
export interface ReplyFormatter {
  chunk(output: Output): OllamaReply;
  done(reason: DoneReason, metrics: DoneMetrics): OllamaReply;
}

/** Ollama's durations: whole nanoseconds, never negative. */
export function nanoseconds(milliseconds: number): number {
  return Math.max(0, Math.round(milliseconds * 1e6));
}

export const zeroMetrics: DoneMetrics = {
  total_duration: 0,
  load_duration: 0,
  prompt_eval_count: 0,
  prompt_eval_duration: 0,
  eval_count: 0,
  eval_duration: 0,
};

/**
 * @example replyFormatter("chat", "tiny:latest").chunk({ content: "Hi" })
 * // { model: "tiny:latest", created_at: "…", message: { role: "assistant", content: "Hi" }, done: false }
 */
export function replyFormatter(shape: ReplyShape, model: string, now: () => number = Date.now): ReplyFormatter {
  const createdAt = () => isoTime(now());
  if (shape === "chat") {
    return {
      chunk: (output) =>
        // Nearly every chunk is text alone: built without spreading what it lacks.
        output.logprobs?.length
          ? { model, created_at: createdAt(), message: assistantMessage(output), logprobs: output.logprobs, done: false }
          : { model, created_at: createdAt(), message: assistantMessage(output), done: false },
      done: (reason, metrics) => ({
        model,
        created_at: createdAt(),
        message: { role: "assistant", content: "" },
        done: true,
        done_reason: reason,
        ...metrics,
      }),
    };
  }
  return {
    chunk: (output) =>
      output.thinking || output.logprobs?.length
        ? {
            model,
            created_at: createdAt(),
            response: output.content,
            ...(output.thinking ? { thinking: output.thinking } : {}),
            ...logprobsOf(output),
            done: false,
          }
        : { model, created_at: createdAt(), response: output.content, done: false },
    done: (reason, metrics) => ({
      model,
      created_at: createdAt(),
      response: "",
      done: true,
      done_reason: reason,
      context: [],
      ...metrics,
    }),
  };
}

/**
 * `Date#toISOString`'s text. Formatting a date cost about 5 µs a token when
 * tokens come one at a time (`bench hotpath --streams 1`), as much as the
 * rest of the chunk: the text up to the milliseconds is formatted once a
 * second, and the tokens of every stream in one millisecond share it all.
 */
export function isoTime(time: number): string {
  const ms = Math.trunc(time); // as Date keeps it
  if (ms === lastIso.ms) return lastIso.text;
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond.second) {
    const text = new Date(second * 1000).toISOString();
    lastSecond = { second, prefix: text.slice(0, -4) }; // up to "." before the milliseconds
  }
  const fraction = ms - second * 1000;
  lastIso = { ms, text: `${lastSecond.prefix}${fraction < 10 ? "00" : fraction < 100 ? "0" : ""}${fraction}Z` };
  return lastIso.text;
}

let lastIso = { ms: NaN, text: "" };
let lastSecond = { second: NaN, prefix: "" };

function logprobsOf({ logprobs }: Output): { logprobs?: readonly Logprob[] } {
  return logprobs?.length ? { logprobs } : {};
}

function assistantMessage({ content, thinking, toolCalls }: Output): AssistantMessage {
  if (!thinking && !toolCalls?.length) return { role: "assistant", content };
  return {
    role: "assistant",
    content,
    ...(thinking ? { thinking } : {}),
    ...(toolCalls?.length ? { tool_calls: toolCalls } : {}),
  };
}

/**
 * A stream line's JSON text, exactly as `JSON.stringify` writes it. A chunk
 * of plain text, nearly every line of a stream, is written from a template
 * a few times faster than `JSON.stringify` builds it (the bench's translator
 * figures); the key order is the formatter's, above. The head (model and
 * time) is shared by the tokens of one millisecond.
 */
export function replyJson(line: OllamaStreamLine): string {
  if ("done" in line && !line.done && line.logprobs === undefined) {
    if ("response" in line) {
      if (line.thinking === undefined) return `${replyHead(line)},"response":${JSON.stringify(line.response)},"done":false}`;
    } else if (line.message.thinking === undefined && line.message.tool_calls === undefined) {
      return `${replyHead(line)},"message":{"role":"assistant","content":${JSON.stringify(line.message.content)}},"done":false}`;
    }
  }
  return JSON.stringify(line);
}

let lastHead = { model: "", createdAt: "", text: "" };

function replyHead({ model, created_at }: ReplyHead): string {
  if (model !== lastHead.model || created_at !== lastHead.createdAt) {
    lastHead = { model, createdAt: created_at, text: `{"model":${JSON.stringify(model)},"created_at":${JSON.stringify(created_at)}` };
  }
  return lastHead.text;
}

/** `stream: false`: the chunks of one reply folded into its final object. */
export function aggregateReplies(lines: readonly OllamaStreamLine[]): OllamaReply | ErrorReply {
  let content = "";
  let thinking = "";
  const toolCalls: ToolCall[] = [];
  const logprobs: Logprob[] = [];
  for (const line of lines) {
    if ("error" in line) return line;
    logprobs.push(...(line.logprobs ?? []));
    if ("message" in line) {
      content += line.message.content;
      thinking += line.message.thinking ?? "";
      toolCalls.push(...(line.message.tool_calls ?? []));
    } else {
      content += line.response;
      thinking += line.thinking ?? "";
    }
    if (line.done) return withOutput(line, { content, thinking, toolCalls, logprobs });
  }
  return { error: "the engine's reply ended without a final object" };
}

function withOutput(done: OllamaReply, output: Required<Output>): OllamaReply {
  if ("message" in done) return { ...done, message: assistantMessage(output), ...logprobsOf(output) };
  return { ...done, response: output.content, ...(output.thinking ? { thinking: output.thinking } : {}), ...logprobsOf(output) };
}
