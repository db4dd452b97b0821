import type { Context } from "hono";
import { stream } from "hono/streaming";

/**
 * One server-sent event as written on the wire: its name and its data (JSON
 * already serialised, on one line). Built as one string, so a token's event
 * costs one allocation, not an object per field.
 *
 * @example sseEvent("ping", '{"type":"ping"}') // 'event: ping\ndata: {"type":"ping"}\n\n'
 */
export function sseEvent(name: string, json: string): string {
  return `event: ${name}\ndata: ${json}\n\n`;
}

/** A reply of server-sent events, each already written as text (`sseEvent`); a client that leaves stops the reading. */
export function streamWrittenEvents(c: Context, events: AsyncIterable<string>): Response {
  c.header("content-type", "text/event-stream");
  c.header("cache-control", "no-cache");
  return stream(c, async (out) => {
    for await (const event of events) {
      if (out.aborted) break;
      await out.write(event);
    }
  });
}
