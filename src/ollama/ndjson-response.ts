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
