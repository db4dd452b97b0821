/**
 * Reading JSON from clients, with the limits `JSON.parse` lacks and Go's
 * encoding/json (which Ollama clients are used to) has, and the object check
 * valibot's `object` and `record` leave out (both accept arrays).
 */
import * as v from "valibot";

/**
 * Nesting deeper than this is refused. No request comes near it, and the code
 * a body reaches (JSON.stringify here, the engine's own parser) recurses.
 */
export const maxJsonDepth = 512;

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * `JSON.parse` for request bodies: nesting bounded, numbers finite (`1e400`
 * is out of range, not Infinity), no `__proto__` keys, lone surrogates replaced by U+FFFD as Go
 * does, so every string is valid Unicode (and URI-encodable) downstream.
 *
 * @throws SyntaxError, with a message fit for the client
 */
export function parseUntrustedJson(text: string): unknown {
  const depth = nestingDepth(text);
  if (depth > maxJsonDepth) throw new SyntaxError(`JSON nested deeper than ${maxJsonDepth} levels`);
  // A reviver makes JSON.parse several times slower: only texts that may need it get one.
  return holdsNothingToRevive(text) ? JSON.parse(text) : JSON.parse(text, revive);
}

function revive(key: string, value: unknown): unknown {
  // The one key with a meaning of its own in JavaScript, and none in a request.
  if (key === "__proto__") throw new SyntaxError('"__proto__" is not allowed as a key');
  if (typeof value === "number" && !Number.isFinite(value)) throw new SyntaxError("a number is out of range");
  return typeof value === "string" ? value.replace(loneSurrogate, "\uFFFD") : value;
}

/** A number past 1e308 needs an exponent of three digits, or a hundred digits in a row (99 digits times 1e99 stay below 1e198). */
const mayBeOutOfRange = /[eE][+-]?\d{3}|\d{100}/;

/**
 * Whether `text` surely holds nothing `revive` changes or refuses: no
 * `__proto__` spelled out, no `\u` escape (which may spell it, or a lone
 * surrogate), no lone surrogate as it is, no number that may be out of range.
 */
function holdsNothingToRevive(text: string): boolean {
  // Node 20 has isWellFormed; TypeScript's ES2023 library does not declare it.
  const wellFormed = (text as string & { isWellFormed(): boolean }).isWellFormed();
  return wellFormed && !text.includes("__proto__") && !text.includes("\\u") && !mayBeOutOfRange.test(text);
}

/** The deepest nesting of `[` and `{` outside strings; strings are skipped a quote at a time, so long ones cost little. */
function nestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < text.length; i += 1) {
    const char = text.charCodeAt(i);
    if (char === 0x5b || char === 0x7b) deepest = Math.max(deepest, ++depth);
    else if (char === 0x5d || char === 0x7d) depth -= 1;
    else if (char === 0x22) i = closingQuote(text, i);
  }
  return deepest;
}

function closingQuote(text: string, open: number): number {
  let at = text.indexOf('"', open + 1);
  while (at !== -1) {
    let backslashes = 0;
    while (text.charCodeAt(at - 1 - backslashes) === 0x5c) backslashes += 1;
    if (backslashes % 2 === 0) return at;
    at = text.indexOf('"', at + 1);
  }
  return text.length;
}

/** A JSON object of `value`s: valibot's `record`, less the arrays it lets through (as objects with keys "0", "1", …). */
export function jsonRecord<const Value extends v.GenericSchema>(value: Value) {
  return v.pipe(
    v.custom<Record<string, unknown>>(
      (input) => typeof input === "object" && input !== null && !Array.isArray(input),
      (issue) => `Invalid type: Expected Object but received ${issue.received}`,
    ),
    v.record(v.string(), value),
  );
}
