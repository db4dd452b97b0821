/** A GGUF file could not be read: truncated, corrupt, hostile or not GGUF at all. */
export class GGUFParseError extends Error {
  override readonly name = "GGUFParseError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(`GGUF parse error: ${message}`, options);
  }
}
