import { setTimeout as sleep } from "node:timers/promises";
import { request, type Dispatcher } from "undici";

/**
 * Polls `GET /health` through `dispatcher` until it answers 200. llama-server
 * answers 503 while it loads; vLLM refuses connections until it is ready;
 * both read as "not yet". Polls fast at first, since small models load in well
 * under a second and every poll interval adds to a cold start, then slower.
 *
 * @throws the signal's reason once it is aborted
 */
export async function waitUntilHealthy(dispatcher: Dispatcher, signal: AbortSignal): Promise<void> {
  const started = performance.now();
  for (;;) {
    if (await isHealthy(dispatcher, signal)) return;
    const elapsed = performance.now() - started;
    await sleep(elapsed < 5_000 ? 50 : 500, undefined, { signal });
  }
}

async function isHealthy(dispatcher: Dispatcher, signal: AbortSignal): Promise<boolean> {
  signal.throwIfAborted();
  try {
    const { statusCode, body } = await request("http://runner/health", { dispatcher, signal, headersTimeout: 5_000, bodyTimeout: 5_000 });
    await body.dump();
    return statusCode === 200;
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    return false; // no socket yet, refused, reset: still starting
  }
}
