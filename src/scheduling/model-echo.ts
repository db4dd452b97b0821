/**
 * OpenAI clients read back the model they asked for (`tiny`), as Ollama and
 * OpenAI echo it; an engine names the model it was started with
 * (`tiny:latest`). The engine's `"model":"tiny:latest"` is rewritten as it
 * streams by. JSON escapes every quote inside a string, so the pattern, with
 * its bare quotes, only ever matches the `model` field itself.
 */

/** Rewrites a body as it streams: each chunk in, what to pass on (maybe nothing yet) out. */
export interface ChunkRewrite {
  push(chunk: Buffer): Buffer | undefined;
  /** The body ended: what was held back. */
  end(): Buffer | undefined;
}

/**
 * @example modelEcho("tiny:latest", "tiny").push(chunk) // every `"model":"tiny:latest"` reads `"model":"tiny"`
 */
export function modelEcho(served: string, requested: string): ChunkRewrite {
  const pattern = Buffer.from(`"model":${JSON.stringify(served)}`);
  const replacement = Buffer.from(`"model":${JSON.stringify(requested)}`);
  // A chunk can end inside the pattern only on one of its bytes: an SSE chunk's last newline never is.
  const ofPattern = new Uint8Array(256);
  for (const byte of pattern) ofPattern[byte] = 1;
  let carried: Buffer | undefined;
  return {
    push(chunk) {
      const joined = carried ? Buffer.concat([carried, chunk]) : chunk;
      const text = replaceAll(joined, pattern, replacement);
      // A pattern cut between two chunks waits for the next one; SSE events end in a blank line, so nothing else waits.
      const held = text.length > 0 && ofPattern[text[text.length - 1]!] ? partialMatchAtEnd(text, pattern) : 0;
      carried = held ? text.subarray(text.length - held) : undefined;
      return text.length > held ? (held ? text.subarray(0, text.length - held) : text) : undefined;
    },
    end() {
      const rest = carried;
      carried = undefined;
      return rest;
    },
  };
}

/** `text` with every `pattern` replaced, copied once into a buffer of its own; `text` itself when it has none. */
function replaceAll(text: Buffer, pattern: Buffer, replacement: Buffer): Buffer {
  let at = text.indexOf(pattern);
  if (at < 0) return text;
  const found: number[] = [];
  for (; at >= 0; at = text.indexOf(pattern, at + pattern.length)) found.push(at);
  const replaced = Buffer.allocUnsafe(text.length + found.length * (replacement.length - pattern.length));
  let from = 0;
  let to = 0;
  for (const start of found) {
    to += text.copy(replaced, to, from, start);
    to += replacement.copy(replaced, to);
    from = start + pattern.length;
  }
  text.copy(replaced, to, from);
  return replaced;
}

/** The length of the longest end of `text` that begins `pattern`, tried only where its first byte (a quote) is. */
function partialMatchAtEnd(text: Buffer, pattern: Buffer): number {
  for (let at = text.indexOf(pattern[0]!, Math.max(0, text.length - pattern.length + 1)); at >= 0; at = text.indexOf(pattern[0]!, at + 1)) {
    const length = text.length - at;
    if (text.compare(pattern, 0, length, at) === 0) return length;
  }
  return 0;
}
