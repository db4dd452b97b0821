/**
 * A configuration that must not reach a command line: a runtime flag with a
 * path, a flag the manager owns, an unsafe HF override. Always the caller's
 * fault, so it maps to a 4xx.
 */
export class InvalidConfigurationError extends Error {
  override readonly name = "InvalidConfigurationError";
}
