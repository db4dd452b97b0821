/**
 * The token counts a response states at its end, read from its last bytes:
 * Ollama's `prompt_eval_count` and `eval_count` (NDJSON's last line, or a
 * JSON reply), OpenAI's `usage` or llama-server's `timings` (JSON, or the
 * last events of a stream).
 */
import { field } from "../scheduling/json-field.ts";
import { createUsageTap, type TokenUsage } from "../scheduling/usage-tap.ts";

/** Enough for the last line or event of any reply, and for a whole short JSON reply. */
export const tokenTailBytes = 16 * 1024;

/** The last `tokenTailBytes` of a body, kept as it passes. */
export function bodyTail(): { push(chunk: Uint8Array): void; bytes(): { tail: Uint8Array; whole: boolean } } {
  let chunks: Uint8Array[] = [];
  let kept = 0;
  let dropped = false;
  return {
    push(chunk) {
      chunks.push(chunk);
      kept += chunk.byteLength;
      while (chunks.length > 1 && kept - chunks[0]!.byteLength >= tokenTailBytes) {
        kept -= chunks.shift()!.byteLength;
        dropped = true;
      }
    },
    bytes: () => ({ tail: Buffer.concat(chunks), whole: !dropped }),
  };
}

export function reportedTokens(contentType: string | null, tail: Uint8Array, whole: boolean): TokenUsage | undefined {
  const type = contentType ?? "";
  const text = Buffer.from(tail).toString("utf8");
  if (type.startsWith("application/x-ndjson")) return ollamaCounts(parseJson(text.trimEnd().split("\n").at(-1) ?? ""));
  if (type.startsWith("application/json")) {
    if (!whole) return undefined;
    const tap = createUsageTap(type);
    tap.push(tail);
    return ollamaCounts(parseJson(text)) ?? tap.usage();
  }
  if (type.startsWith("text/event-stream")) {
    const tap = createUsageTap(type);
    // From the first event boundary on: the tail may start inside an event.
    tap.push(Buffer.from(whole ? text : text.slice(text.indexOf("\n\n") + 2)));
    return tap.usage();
  }
  return undefined;
}

function ollamaCounts(value: unknown): TokenUsage | undefined {
  const prompt = field(value, "prompt_eval_count");
  if (typeof prompt !== "number") return undefined;
  const completion = field(value, "eval_count");
  return { promptTokens: prompt, completionTokens: typeof completion === "number" ? completion : 0 };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
