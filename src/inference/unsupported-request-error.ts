/**
 * A request the runner's engine cannot honour as asked (tools without a
 * tool-call parser, a `suffix` vLLM refuses): the caller's to change, so it
 * maps to a 400, in the words of the dialect that answers it.
 */
export class UnsupportedRequestError extends Error {
  override readonly name = "UnsupportedRequestError";
}
