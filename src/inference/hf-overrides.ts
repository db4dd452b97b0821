import { InvalidConfigurationError } from "./invalid-configuration-error.ts";

/** A JSON value as vLLM's `--hf-overrides` accepts it. */
export type HFOverrideValue = string | number | boolean | null | HFOverrideValue[] | HFOverrides;

/** HuggingFace model configuration overrides, passed to vLLM as JSON. */
export interface HFOverrides {
  [key: string]: HFOverrideValue;
}

const safeKey = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Keys that would reach an object's prototype if ever merged naively. */
const prototypeKeys = new Set(["__proto__", "constructor", "prototype"]);

const maxDepth = 32;

/**
 * Ensures every key, at every depth, is an identifier (letters, digits,
 * underscores, not starting with a digit) and every value a JSON primitive, an
 * array or a nested object. Anything else (functions, non-finite numbers,
 * class instances, prototype keys, absurd nesting) is rejected.
 *
 * @throws InvalidConfigurationError with the path of the first bad entry
 */
export function validateHFOverrides(overrides: unknown): asserts overrides is HFOverrides {
  if (!isPlainObject(overrides)) {
    throw new InvalidConfigurationError("hf-overrides must be a JSON object");
  }
  validateObject(overrides, "hf-overrides", 0);
}

function validateObject(value: Record<string, unknown>, path: string, depth: number): void {
  for (const key of Object.keys(value)) {
    if (!safeKey.test(key) || prototypeKeys.has(key)) {
      throw new InvalidConfigurationError(`invalid key ${JSON.stringify(key)} in ${path}: keys must match ${safeKey.source}`);
    }
    validateValue(value[key], `${path}.${key}`, depth + 1);
  }
}

function validateValue(value: unknown, path: string, depth: number): void {
  if (depth > maxDepth) throw new InvalidConfigurationError(`${path} is nested too deeply`);
  if (value === null || typeof value === "string" || typeof value === "boolean") return;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new InvalidConfigurationError(`${path} must be a finite number`);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, index) => validateValue(item, `${path}[${index}]`, depth + 1));
    return;
  }
  if (isPlainObject(value)) {
    validateObject(value, path, depth);
    return;
  }
  throw new InvalidConfigurationError(`${path} has an unsupported type (${typeof value})`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
