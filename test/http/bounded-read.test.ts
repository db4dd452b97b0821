import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { readBounded, readBoundedText, ReplyTooLargeError } from "../../src/http/bounded-read.ts";

/** A stream that never ends on its own, counting what was pulled from it. */
function endless() {
  const state = { pulled: 0, destroyed: false };
  const stream = new Readable({
    read() {
      state.pulled += 1024;
      this.push(Buffer.alloc(1024, 0x7b));
    },
    destroy(error, callback) {
      state.destroyed = true;
      callback(error);
    },
  });
  return { stream, state };
}

describe("readBounded", () => {
  it("reads a body within the limit whole", async () => {
    assert.equal(await readBoundedText(Readable.from([Buffer.from("ab"), Buffer.from("cd")]), 4), "abcd");
  });

  it("stops an endless body at the limit while it streams, and destroys it", async () => {
    const { stream, state } = endless();
    await assert.rejects(readBounded(stream, 10_000), (error: unknown) => error instanceof ReplyTooLargeError && error.limit === 10_000);
    assert.ok(state.destroyed);
    assert.ok(state.pulled < 10_000 + 64 * 1024, `${state.pulled} bytes pulled`);
  });

  it("refuses a declared Content-Length over the limit without reading a byte", async () => {
    const { stream, state } = endless();
    await assert.rejects(readBounded(stream, 10, "11"), ReplyTooLargeError);
    assert.ok(state.destroyed);
    assert.equal(state.pulled, 0);
  });

  it("does not trust a small Content-Length: the bytes are counted", async () => {
    const { stream } = endless();
    await assert.rejects(readBounded(stream, 4096, "10"), ReplyTooLargeError);
  });
});
