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

