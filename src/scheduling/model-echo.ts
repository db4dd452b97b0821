/**
 * OpenAI clients read back the model they asked for (`tiny`), as Ollama and
 * OpenAI echo it; an engine names the model it was started with
 * (`tiny:latest`). The engine's `"model":"tiny:latest"` is rewritten as it
 * streams by. JSON escapes every quote inside a string, so the pattern, with
 * its bare quotes, only ever matches the `model` field itself.
 */

/**
 * @example echoRequestedModel(body, "tiny:latest", "tiny") // every `"model":"tiny:latest"` reads `"model":"tiny"`
 */
export function echoRequestedModel(body: ReadableStream<Uint8Array>, served: string, requested: string): ReadableStream<Uint8Array> {
  const pattern = Buffer.from(`"model":${JSON.stringify(served)}`);
  const replacement = Buffer.from(`"model":${JSON.stringify(requested)}`);
  const reader = body.getReader();
  let carried: Buffer = Buffer.alloc(0);
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) {
            if (carried.length) controller.enqueue(carried);
            controller.close();
            return;
          }
          const joined = carried.length ? Buffer.concat([carried, value]) : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
          const text = replaceAll(joined, pattern, replacement);
          // A pattern cut between two chunks waits for the next one; SSE events end in a blank line, so nothing else waits.
          const held = partialMatchAtEnd(text, pattern);
          carried = text.subarray(text.length - held);
          if (text.length > held) {
            controller.enqueue(text.subarray(0, text.length - held));
            return;
          }
        }
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
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

/** The length of the longest end of `text` that begins `pattern`. */
function partialMatchAtEnd(text: Buffer, pattern: Buffer): number {
  for (let length = Math.min(pattern.length - 1, text.length); length > 0; length--) {
    if (text.subarray(text.length - length).equals(pattern.subarray(0, length))) return length;
  }
  return 0;
}
