import { Transform } from "node:stream";

/**
 * OpenAI clients read back the model they asked for (`tiny`), as Ollama and
 * OpenAI echo it; an engine names the model it was started with
 * (`tiny:latest`). The engine's `"model":"tiny:latest"` is rewritten as it
 * streams by. JSON escapes every quote inside a string, so the pattern, with
 * its bare quotes, only ever matches the `model` field itself.
 */

/**
 * @example body.pipe(echoRequestedModel("tiny:latest", "tiny")) // every `"model":"tiny:latest"` reads `"model":"tiny"`
 */
export function echoRequestedModel(served: string, requested: string): Transform {
  const pattern = Buffer.from(`"model":${JSON.stringify(served)}`);
  const replacement = Buffer.from(`"model":${JSON.stringify(requested)}`);
  let carried: Buffer | undefined;
  return new Transform({
    // One chunk in, at most one out: never reads ahead of the reader.
    readableHighWaterMark: 0,
    writableHighWaterMark: 0,
    transform(chunk: Buffer, _encoding, callback) {
      const joined = carried ? Buffer.concat([carried, chunk]) : chunk;
      const text = replaceAll(joined, pattern, replacement);
      // A pattern cut between two chunks waits for the next one; SSE events end in a blank line, so nothing else waits.
      const held = partialMatchAtEnd(text, pattern);
      carried = held ? text.subarray(text.length - held) : undefined;
      callback(null, text.length > held ? text.subarray(0, text.length - held) : undefined);
    },
    flush(callback) {
      callback(null, carried);
    },
  });
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

/** The length of the longest end of `text` that begins `pattern` (compared in place: no copies per chunk). */
function partialMatchAtEnd(text: Buffer, pattern: Buffer): number {
  for (let length = Math.min(pattern.length - 1, text.length); length > 0; length--) {
    if (text.compare(pattern, 0, length, text.length - length) === 0) return length;
  }
  return 0;
}
