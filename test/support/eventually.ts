import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";

/** Polls `check` (at once or through a promise) until it gives something truthy, and returns that; fails naming `what` after `timeoutMs`. */
export async function eventually<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
