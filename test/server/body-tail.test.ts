/**
 * The request log's ring of a body's last bytes (`bodyTail`), fuzzed against
 * the plain answer: the last `tokenTailBytes` of everything pushed, and
 * whether that is the whole body.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { bodyTail, tokenTailBytes } from "../../src/server/response-tokens.ts";

test("bodyTail holds exactly the last 16 KB of any sequence of chunks (empty, tiny, just short of, at and past the bound), and knows when that is all", () => {
  let state = 12345;
  const next = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const sizes = [0, 1, 2, 7, 100, 1023, 1024, 1025, tokenTailBytes - 1, tokenTailBytes, tokenTailBytes + 1, 3 * tokenTailBytes];
  for (let trial = 0; trial < 300; trial++) {
    const tail = bodyTail();
    const all: Buffer[] = [];
    let counter = 0;
    const pushes = 1 + Math.floor(next() * 40);
    for (let push = 0; push < pushes; push++) {
      const size = next() < 0.5 ? sizes[Math.floor(next() * sizes.length)]! : Math.floor(next() * 3000);
      const chunk = Buffer.alloc(size);
      for (let at = 0; at < size; at++) chunk[at] = (counter++ * 31 + 7) & 0xff;
      all.push(chunk);
      tail.push(next() < 0.3 ? new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength) : chunk);
      const body = Buffer.concat(all);
      const { tail: bytes, whole } = tail.bytes();
      assert.deepEqual(Buffer.from(bytes), body.subarray(Math.max(0, body.byteLength - tokenTailBytes)), `trial ${trial}, push ${push}`);
      assert.equal(whole, body.byteLength <= tokenTailBytes, `trial ${trial}, push ${push}: whole`);
    }
  }
});
