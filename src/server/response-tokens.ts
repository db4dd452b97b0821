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

/**
 * The last `tokenTailBytes` of a body, copied as it passes into one buffer
 * that grows to that size and then wraps around. Keeping the chunks
 * themselves held a stream's last ~150 NDJSON lines, each its own buffer:
 * about 40 KB for every long stream open.
 */
export function bodyTail(): { push(chunk: Uint8Array): void; bytes(): { tail: Uint8Array; whole: boolean } } {
  let kept = Buffer.alloc(0);
  let used = 0; // bytes held
  let next = 0; // where the next byte goes; once full, where the oldest is
  let dropped = false;
  return {
    push(chunk) {
      if (chunk.byteLength === 0) return;
      const bytes = chunk.byteLength > tokenTailBytes ? chunk.subarray(chunk.byteLength - tokenTailBytes) : chunk;
      if (bytes !== chunk) dropped = true;
      if (used + bytes.byteLength > kept.byteLength && kept.byteLength < tokenTailBytes) {
        // Not wrapped yet: what is held lies at the start, in order. Unpooled, so no shared slab stays with it.
        const grown = Buffer.allocUnsafeSlow(Math.min(tokenTailBytes, Math.max(used + bytes.byteLength, kept.byteLength * 2, 1024)));
        kept.copy(grown, 0, 0, used);
        kept = grown;
        next = used;
      }
      if (used + bytes.byteLength > kept.byteLength) dropped = true;
      const first = Math.min(bytes.byteLength, kept.byteLength - next);
      if (first === bytes.byteLength) {
        kept.set(bytes, next); // the common case: no wrap, no views made
      } else {
        kept.set(bytes.subarray(0, first), next);
        kept.set(bytes.subarray(first), 0);
      }
      next = (next + bytes.byteLength) % kept.byteLength;
      used = Math.min(kept.byteLength, used + bytes.byteLength);
    },
    bytes: () => ({
      tail: used < kept.byteLength ? Buffer.from(kept.subarray(0, used)) : Buffer.concat([kept.subarray(next), kept.subarray(0, next)]),
      whole: !dropped,
    }),
  };
}

export function reportedTokens(contentType: string | null, tail: Uint8Array, whole: boolean): TokenUsage | undefined {
  const type = contentType ?? "";
  const bytes = Buffer.from(tail.buffer, tail.byteOffset, tail.byteLength);
  if (type.startsWith("application/x-ndjson")) return ollamaCounts(parseJson(lastLine(bytes.toString("utf8").trimEnd())));
  if (type.startsWith("application/json")) {
    if (!whole) return undefined;
    const tap = createUsageTap(type);
    tap.push(tail);
    return ollamaCounts(parseJson(bytes.toString("utf8"))) ?? tap.usage();
  }
  if (type.startsWith("text/event-stream")) {
    const tap = createUsageTap(type);
    // From the first event boundary on (the tail may start inside an event), one event at a time: the tap decodes only those that mention counts.
    let from = whole ? 0 : bytes.indexOf(eventEnd) + eventEnd.byteLength;
    for (let end = bytes.indexOf(eventEnd, from); end >= 0; from = end + eventEnd.byteLength, end = bytes.indexOf(eventEnd, from)) {
      tap.push(bytes.subarray(from, end + eventEnd.byteLength));
    }
    if (from < bytes.byteLength) tap.push(bytes.subarray(from));
    return tap.usage();
  }
  return undefined;
}

const eventEnd = Buffer.from("\n\n");

function ollamaCounts(value: unknown): TokenUsage | undefined {
  const prompt = field(value, "prompt_eval_count");
  if (typeof prompt !== "number") return undefined;
  const completion = field(value, "eval_count");
  return { promptTokens: prompt, completionTokens: typeof completion === "number" ? completion : 0 };
}

/** The text after its last newline: a stream's tail holds many lines, and only the last is read. */
function lastLine(text: string): string {
  return text.slice(text.lastIndexOf("\n") + 1);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
