/** Writes one value as JSON text. */
export type JsonWriter<T> = (value: T) => string;

/**
 * One NDJSON line. Measured (bench/ollama-overhead.ts): written into a
 * buffer of the exact size, a short line is encoded twice as fast as by
 * `Buffer.from`, and six times as fast as by `TextEncoder`.
 */
export function ndjsonLine<T>(value: T, toJson: JsonWriter<T> = JSON.stringify): Uint8Array {
  const text = toJson(value);
  const length = Buffer.byteLength(text);
  const line = Buffer.allocUnsafe(length + 1);
  line.write(text);
  line[length] = 0x0a;
  return line;
}

/**
 * A streamed `application/x-ndjson` response: one JSON object and `\n` per
 * line (written by `toJson`), each written as soon as it is produced. Cancelling the response (the
 * client left) returns the iterator, which releases whatever feeds it.
 */
export function ndjsonResponse<T>(lines: AsyncIterable<T> | Iterable<T>, toJson: JsonWriter<T> = JSON.stringify): Response {
  const iterator = Symbol.asyncIterator in lines ? lines[Symbol.asyncIterator]() : lines[Symbol.iterator]();
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const next = await iterator.next();
        if (next.done) controller.close();
        else controller.enqueue(ndjsonLine(next.value, toJson));
      },
      async cancel() {
        await iterator.return?.();
      },
    },
    // Pull only when the client has taken the last line: no reading ahead of a slow client.
    { highWaterMark: 0 },
  );
  return new Response(body, { headers: { "content-type": "application/x-ndjson" } });
}
