import type { Lease } from "./loader.ts";

/**
 * The request body as the runner's engine accepts it: engines that check the
 * model's name (vLLM answers 404 to a name it was not started with) are sent
 * the name the runner was started with, whichever of the model's names or
 * tags the client used; other engines get the body untouched.
 */
export function bodyForEngine(body: Uint8Array, model: string, lease: Lease, checksModelName: boolean): Uint8Array {
  if (!checksModelName || model === lease.model.name) return body;
  const parsed = JSON.parse(new TextDecoder().decode(body)) as Record<string, unknown>; // parsed once already: valid
  return new TextEncoder().encode(JSON.stringify({ ...parsed, model: lease.model.name }));
}
