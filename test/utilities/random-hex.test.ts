import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { randomHex } from "../../src/utilities/random-hex.ts";

describe("randomHex", () => {
  test("twice as many hex digits as bytes, none repeated across many pool refills", () => {
    const seen = new Set<string>();
    // 24 bytes each: 1000 ids run through the 4 KiB pool six times.
    for (let i = 0; i < 1000; i++) {
      const hex = randomHex(24);
      assert.match(hex, /^[0-9a-f]{48}$/);
      seen.add(hex);
    }
    assert.equal(seen.size, 1000);
    assert.match(randomHex(12), /^[0-9a-f]{24}$/);
  });
});

describe("randomHex across processes", () => {
  test("two processes (each its own pool, filled by the system's generator) never give the same id", async () => {
    const { execFile } = await import("node:child_process");
    const { promisify } = await import("node:util");
    const script = `import { randomHex } from ${JSON.stringify(new URL("../../src/utilities/random-hex.ts", import.meta.url).pathname)}; const ids = []; for (let i = 0; i < 5000; i++) ids.push(randomHex(12)); console.log(ids.join("\\n"));`;
    const run = () => promisify(execFile)(process.execPath, ["--import", "tsx", "--input-type=module", "--eval", script], { maxBuffer: 1 << 20 });
    const [first, second] = await Promise.all([run(), run()]);
    const ids = [...first.stdout.trim().split("\n"), ...second.stdout.trim().split("\n")];
    assert.equal(ids.length, 10_000);
    assert.equal(new Set(ids).size, 10_000);
  });
});
