import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, it } from "node:test";
import { systemClock } from "../../src/scheduling/clock.ts";

describe("the system clock", () => {
  it("fires a short timeout", async () => {
    // The clock's timers are unref'd (a keep-alive must not hold the process):
    // something else has to keep this test's event loop running meanwhile.
    const alive = setInterval(() => {}, 60_000);
    try {
      await new Promise<void>((resolve) => systemClock.setTimeout(resolve, 5));
    } finally {
      clearInterval(alive);
    }
  });

  it("does not fire a wait longer than Node's timer limit at once (a keep-alive of 8760h)", async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on("warning", onWarning);
    let fired = false;
    const handle = systemClock.setTimeout(() => (fired = true), 8760 * 3_600_000);
    // Node would fire an overflowing timeout after 1 ms; give it ample time to misbehave.
    await sleep(50);
    systemClock.clearTimeout(handle);
    process.off("warning", onWarning);
    assert.equal(fired, false);
    assert.deepEqual(warnings, []);
  });
});
