import { setTimeout as sleep } from "node:timers/promises";
import { request, type Dispatcher } from "undici";

/**
 * Polls `GET /health` through `dispatcher` until it answers 200. llama-server
 * answers 503 while it loads; vLLM refuses connections until it is ready;
 * both read as "not yet". The pause between polls grows with the time spent
 * waiting: a small model is ready in a few hundred milliseconds, and half a
 * pause is what a cold start loses on average, so the pause stays a few
 * percent of the wait (2 ms at first, 50 ms after a second and a half, 500 ms
 * after 5 s).
 *
 * @throws the signal's reason once it is aborted
 */
export async function waitUntilHealthy(dispatcher: Dispatcher, signal: AbortSignal): Promise<void> {
  const started = performance.now();
  for (;;) {
    if (await isHealthy(dispatcher, signal)) return;
    await sleep(pollPauseMs(performance.now() - started), undefined, { signal });
  }
}

function pollPauseMs(elapsedMs: number): number {
  return elapsedMs < 5_000 ? Math.min(50, Math.max(2, elapsedMs / 30)) : 500;
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
