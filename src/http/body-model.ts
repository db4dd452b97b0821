/**
 * The `model` a request's JSON body names, noted by the code that parsed the
 * body, so the request log, which names the model in its line, need not
 * parse the body a second time. Noted by what was parsed: the request whose
 * text was read, or the body's bytes (by their `ArrayBuffer`, which Hono
 * keeps for every later reader).
 *
 * @example noteBodyModel(request, json); bodyModel(request) // "tiny"
 */

/** A string model, or null for a body that names none. */
const noted = new WeakMap<object, string | null>();

/**
 * Notes the model of `json`, parsed from `source`. A model the parser may
 * have read otherwise than `JSON.parse` (a lone surrogate it replaced) is
 * not noted: the log parses that body itself, as it would without a note.
 */
export function noteBodyModel(source: object, json: unknown): void {
  const key = keyOf(source);
  if (!key) return;
  const model = typeof json === "object" && json !== null ? (json as Record<string, unknown>).model : undefined;
  if (typeof model !== "string") noted.set(key, null);
  else if (!model.includes("\uFFFD")) noted.set(key, model);
}

/** The `model` noted for `source`: a string, null for none, undefined when nobody noted it. */
export function bodyModel(source: object): string | null | undefined {
  const key = keyOf(source);
  return key && noted.get(key);
}

/** Bytes are known by their buffer, when they are the whole of it (a pooled Buffer shares its buffer with others). */
function keyOf(source: object): object | undefined {
  if (!ArrayBuffer.isView(source)) return source;
  const { buffer, byteOffset, byteLength } = source;
  return byteOffset === 0 && byteLength === buffer.byteLength ? buffer : undefined;
}
