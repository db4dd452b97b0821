/** `value[name]` when `value` is an object: for reading engine JSON that no schema need cover whole. */
export function field(value: unknown, name: string): unknown {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}
