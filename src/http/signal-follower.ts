/**
 * undici's `new Request(…, { signal })` (or `new Request(request)`) follows
 * the signal through a weak reference to a controller that only the new
 * Request holds. Once that Request is garbage (its handler returned, its
 * body still streaming), an abort of the original signal no longer reaches
 * the new one, and the engine's work behind it runs on after the client left.
 * Keeping the Request reachable from the signal it follows keeps the link.
 */
const followers = new WeakMap<AbortSignal, Request[]>();

/** Returns `request`, kept alive as long as `signal` (the one it follows) is. */
export function followingSignal(request: Request, signal: AbortSignal | null | undefined): Request {
  if (!signal || signal.aborted) return request;
  const held = followers.get(signal);
  if (held) held.push(request);
  else followers.set(signal, [request]);
  return request;
}
