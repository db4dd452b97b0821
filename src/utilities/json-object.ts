/** A JSON object's fields: what `JSON.parse` gives for `{…}`. */
export type JsonObject = Record<string, unknown>;

/** A plain object: not null, not an array. */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * `text` parsed when it is a JSON object; undefined for anything else (other
 * JSON, or no JSON): for bodies an engine wrote, read leniently.
 *
 * @example parseJsonObject('{"error":"x"}') // { error: "x" }; parseJsonObject("[1]") // undefined
 */
export function parseJsonObject(text: string, reviver?: (key: string, value: unknown) => unknown): JsonObject | undefined {
  try {
    const value: unknown = JSON.parse(text, reviver);
    return isJsonObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
