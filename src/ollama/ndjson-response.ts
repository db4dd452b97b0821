/**
 * One NDJSON line. `Buffer.from` encodes a short line about five times faster
 * than `TextEncoder` (bench/ollama-overhead.ts).
 */
export function ndjsonLine(value: unknown): Uint8Array {
  return Buffer.from(`${JSON.stringify(value)}\n`);
}

/**
 * A streamed `application/x-ndjson` response: one JSON object and `\n` per
 * line, each written as soon as it is produced. Cancelling the response (the
 * client left) returns the iterator, which releases whatever feeds it.
 */
export function ndjsonResponse(lines: AsyncIterable<unknown> | Iterable<unknown>): Response {
  const iterator = Symbol.asyncIterator in lines ? lines[Symbol.asyncIterator]() : lines[Symbol.iterator]();
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const next = await iterator.next();
        if (next.done) controller.close();
        else controller.enqueue(ndjsonLine(next.value));
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
