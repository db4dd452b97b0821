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
  let carried: Buffer | undefined;
  return {
    push(chunk) {
      const joined = carried ? Buffer.concat([carried, chunk]) : chunk;
      const text = replaceAll(joined, pattern, replacement);
      // A pattern cut between two chunks waits for the next one; SSE events end in a blank line, so nothing else waits.
      const held = partialMatchAtEnd(text, pattern);
      carried = held ? text.subarray(text.length - held) : undefined;
      return text.length > held ? text.subarray(0, text.length - held) : undefined;
    },
    end() {
      const rest = carried;
      carried = undefined;
      return rest;
    },
  };
}

function replaceAll(text: Buffer, pattern: Buffer, replacement: Buffer): Buffer {
  let at = text.indexOf(pattern);
  if (at < 0) return text;
  const parts: Buffer[] = [];
  let from = 0;
  while (at >= 0) {
    parts.push(text.subarray(from, at), replacement);
    from = at + pattern.length;
    at = text.indexOf(pattern, from);
  }
  parts.push(text.subarray(from));
  return Buffer.concat(parts);
}

/** The length of the longest end of `text` that begins `pattern`, tried only where its first byte (a quote) is. */
function partialMatchAtEnd(text: Buffer, pattern: Buffer): number {
  for (let at = text.indexOf(pattern[0]!, Math.max(0, text.length - pattern.length + 1)); at >= 0; at = text.indexOf(pattern[0]!, at + 1)) {
    const length = text.length - at;
    if (text.compare(pattern, 0, length, at) === 0) return length;
  }
  return 0;
}
