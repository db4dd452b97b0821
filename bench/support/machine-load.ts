import { loadavg } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";

/** The 1, 5 and 15 minute load averages, as `uptime` shows them. */
export function loadAverageText(): string {
  return loadavg()
    .map((load) => load.toFixed(2))
    .join(" ");
}

/**
 * Waits (up to `timeoutMs`) until the 1-minute load average falls to
 * `maxLoad`: on a shared 2-core machine other processes skew every figure,
 * so measuring starts when it is quiet, or says that it could not wait.
 */
export async function waitForQuietMachine(maxLoad: number, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let said = false;
  while (loadavg()[0]! > maxLoad && performance.now() < deadline) {
    if (!said) console.error(`waiting up to ${Math.round(timeoutMs / 1000)} s for the load average (${loadAverageText()}) to fall to ${maxLoad}`);
    said = true;
    await sleep(2_000);
  }
  if (loadavg()[0]! > maxLoad) console.error(`measuring anyway under load ${loadAverageText()}`);
}
