/** A chunk of an event stream ends where an event does (`\n\n`, or `\r\n\r\n`). */
export function endsWithBlankLine(chunk: Uint8Array): boolean {
  const n = chunk.length;
  const newline = 0x0a;
  return (n >= 2 && chunk[n - 1] === newline && chunk[n - 2] === newline) || (n >= 4 && chunk[n - 1] === newline && chunk[n - 3] === newline);
}
