import type { EventStreamTranslator } from "../engines/event-translation.ts";

export type { EventStreamTranslator };

/**
 * Reads an engine's event stream through `translator`, yielding its pieces
 * (Ollama's objects, or another dialect's events) as they complete. A broken upstream ends the translation (with an
 * error line unless the reply was already whole); stopping the iteration early
 * (the client went away) cancels the upstream, which stops the engine's work.
 */
export async function* translateEngineStream<Piece>(
  body: ReadableStream<Uint8Array> | null,
  translator: EventStreamTranslator<Piece>,
): AsyncGenerator<Piece, void, undefined> {
  if (!body) return yield* translator.end("the engine sent no body");
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let finished = false;
  try {
    for (;;) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (error) {
        finished = true;
        return yield* translator.end(error instanceof Error ? error.message : String(error));
      }
      if (chunk.done) break;
      // `stream: true` keeps a character cut between reads whole.
      yield* translator.push(decoder.decode(chunk.value, { stream: true }));
    }
    finished = true;
    yield* translator.push(decoder.decode());
    yield* translator.end();
  } finally {
    if (!finished) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}
