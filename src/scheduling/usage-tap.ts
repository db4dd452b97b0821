import { createParser } from "eventsource-parser";
import { endsWithBlankLine } from "./event-boundary.ts";
import { field } from "./json-field.ts";

/** Tokens an engine says one response took. */
export interface TokenUsage {
  readonly promptTokens: number;
  readonly completionTokens: number;
}

export interface UsageTap {
  /** Sees a piece of the response body as it passes; never holds it up. */
  push(chunk: Uint8Array): void;
  /** What the body said once it has ended, if it said anything. */
  usage(): TokenUsage | undefined;
}

const usageBytes = Buffer.from('"usage"');
const timingsBytes = Buffer.from('"timings"');

/** A JSON body larger than this goes uncounted rather than held in memory. */
const maxJsonBytes = 8 * 1024 * 1024;

/**
 * Reads the token counts off an engine's response without holding the stream:
 * OpenAI's `usage` (`prompt_tokens`, `completion_tokens`), Anthropic's (native
 * Messages), else llama-server's `timings` (`prompt_n` + `cache_n`, `predicted_n`). Event streams are parsed
 * event by event, and only the events that mention either are decoded; a JSON
 * body is copied aside and read at its end.
 */
export function createUsageTap(contentType: string | null): UsageTap {
  let usage: TokenUsage | undefined;
  let fromUsage = false;
  const note = (value: unknown) => {
    const fromOpenAI = openAIUsage(value);
    const fromAnthropic = fromOpenAI ? undefined : anthropicUsage(value, usage);
    if (fromAnthropic) {
      usage = fromAnthropic;
      fromUsage = true;
    } else if (fromOpenAI) {
      usage = fromOpenAI;
      fromUsage = true;
    } else if (!fromUsage) {
      usage = timingsUsage(value) ?? usage;
    }
  };

  if (contentType?.startsWith("text/event-stream")) {
    const decoder = new TextDecoder();
    const parser = createParser({
      onEvent: ({ data }) => {
        if (data.includes('"usage"') || data.includes('"timings"')) note(parseJson(data));
      },
    });
    let atBoundary = true;
    return {
      push(chunk) {
        // Whole events that mention neither (every token's) are passed over without decoding them.
        const whole = endsWithBlankLine(chunk);
        const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        if (atBoundary && whole && bytes.indexOf(usageBytes) < 0 && bytes.indexOf(timingsBytes) < 0) return;
        atBoundary = whole;
        parser.feed(decoder.decode(chunk, { stream: true }));
      },
      usage: () => usage,
    };
  }

  if (contentType?.startsWith("application/json")) {
    const chunks: Uint8Array[] = [];
    let bytes = 0;
    return {
      push(chunk) {
        bytes += chunk.length;
        if (bytes <= maxJsonBytes) chunks.push(chunk);
      },
      usage() {
        if (bytes > maxJsonBytes || chunks.length === 0) return undefined;
        note(parseJson(Buffer.concat(chunks).toString("utf8")));
        chunks.length = 0;
        return usage;
      },
    };
  }

  return { push: () => {}, usage: () => undefined };
}

function openAIUsage(value: unknown): TokenUsage | undefined {
  const usage = field(value, "usage");
  const prompt = field(usage, "prompt_tokens");
  if (typeof prompt !== "number") return undefined;
  const completion = field(usage, "completion_tokens");
  return { promptTokens: prompt, completionTokens: typeof completion === "number" ? completion : 0 };
}

/**
 * Anthropic's `usage`: on a whole message or `message_start`'s message (input
 * tokens, cached ones apart), and on `message_delta` (output tokens so far);
 * each event updates the counts it carries.
 */
function anthropicUsage(value: unknown, previous: TokenUsage | undefined): TokenUsage | undefined {
  const usage = field(value, "usage") ?? field(field(value, "message"), "usage");
  const input = field(usage, "input_tokens");
  const cached = field(usage, "cache_read_input_tokens");
  const output = field(usage, "output_tokens");
  if (typeof input !== "number" && typeof output !== "number") return undefined;
  return {
    promptTokens: typeof input === "number" ? input + (typeof cached === "number" ? cached : 0) : (previous?.promptTokens ?? 0),
    completionTokens: typeof output === "number" ? output : (previous?.completionTokens ?? 0),
  };
}

function timingsUsage(value: unknown): TokenUsage | undefined {
  const timings = field(value, "timings");
  const prompt = field(timings, "prompt_n");
  const cached = field(timings, "cache_n");
  const predicted = field(timings, "predicted_n");
  if (typeof prompt !== "number" || typeof predicted !== "number") return undefined;
  return { promptTokens: prompt + (typeof cached === "number" ? cached : 0), completionTokens: predicted };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
