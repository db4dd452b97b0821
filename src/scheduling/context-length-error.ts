/** A prompt longer than the runner's context, which may not (or cannot) be cut. Maps to a 400. */
export class ContextLengthExceededError extends Error {
  override readonly name = "ContextLengthExceededError";
  constructor(
    readonly tokens: number,
    readonly contextSize: number,
  ) {
    super(`the prompt takes ${tokens} tokens and the model's context holds ${contextSize}`);
  }
}
