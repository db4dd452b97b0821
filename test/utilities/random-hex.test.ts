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
