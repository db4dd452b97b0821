/**
 * `{ [name]: value }`, or nothing when `value` is null or undefined: spread
 * into a body so an absent field stays absent.
 *
 * @example { model, ...optionalField("temperature", request.temperature) }
 */
export function optionalField(name: string, value: unknown): Record<string, unknown> {
  return value == null ? {} : { [name]: value };
}
