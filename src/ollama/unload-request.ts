import { HTTPException } from "hono/http-exception";
import { parseKeepAlive } from "../inference/keep-alive.ts";

/**
 * `keep_alive: 0` (or `"0s"`): Ollama's way to unload the model once the
 * request is over, on every endpoint that runs one.
 *
 * @throws HTTPException 400 for a duration that cannot be read
 */
export function asksToUnload(keepAlive: number | string | null | undefined): boolean {
  if (keepAlive == null) return false;
  try {
    return parseKeepAlive(keepAlive) === 0;
  } catch (error) {
    throw new HTTPException(400, { message: (error as Error).message });
  }
}
