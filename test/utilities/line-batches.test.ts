import assert from "node:assert/strict";
import { once } from "node:events";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { readLineBatches, type LineBatchOptions } from "../../src/utilities/line-batches.ts";

/** Writes each piece as its own chunk, waiting for the reader to take it, then ends; the lines read. */
async function linesOf(pieces: (string | Buffer)[], options: LineBatchOptions = { restMs: 1 }): Promise<string[]> {
  const stream = new PassThrough();
  const lines: string[] = [];
  readLineBatches(stream, (line) => lines.push(line), options);
  for (const piece of pieces) {
    stream.write(piece);
    if (stream.readableLength > 0) await once(stream, "data");
  }
  stream.end();
  await once(stream, "end");
  return lines;
}

describe("readLineBatches", () => {
  it("ends lines at \\n, \\r\\n and a lone \\r, as readline does, across chunks", async () => {
    assert.deepEqual(await linesOf(["one\ntw", "o\r\nthree\rfour\n", "\nfive"]), ["one", "two", "three", "four", "", "five"]);
  });

  it("reads a \\r\\n split between two chunks as one line end", async () => {
    assert.deepEqual(await linesOf(["first\r", "\nsecond\r", "third\n"]), ["first", "second", "third"]);
  });

  it("decodes a UTF-8 character split between chunks", async () => {
    const bytes = Buffer.from("naïve\n");
    assert.deepEqual(await linesOf([bytes.subarray(0, 3), bytes.subarray(3)]), ["naïve"]);
  });

  it("passes a runaway line on in pieces instead of keeping it whole", async () => {
    assert.deepEqual(await linesOf(["x".repeat(25), "y".repeat(5), "\n"], { restMs: 1, maxLineLength: 10 }), ["x".repeat(10), "x".repeat(10), "xxxxxyyyyy"]);
  });

  it("rests after a small chunk (the stream paused, then resumed), but never after a large one", async () => {
    const stream = new PassThrough();
    const lines: string[] = [];
    readLineBatches(stream, (line) => lines.push(line), { restMs: 20, busyBytes: 64 });
    const paused = once(stream, "pause");
    stream.write("small\n");
    await paused;
    assert.deepEqual(lines, ["small"]);
    while (stream.isPaused()) await new Promise((resolve) => setTimeout(resolve, 5)); // the rest ends
    stream.write(`${"z".repeat(100)}\n`);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(stream.isPaused(), false);
    assert.equal(lines.length, 2);
  });

  it("reads lines as they come until restsAfter accepts one, and rests from then on", async () => {
    const stream = new PassThrough();
    const lines: string[] = [];
    let pauses = 0;
    stream.on("pause", () => pauses++);
    readLineBatches(stream, (line) => lines.push(line), { restMs: 20, restsAfter: (line) => line === "loaded" });
    for (const line of ["loading", "buffers"]) {
      stream.write(`${line}\n`);
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.deepEqual(lines, ["loading", "buffers"]);
    assert.equal(pauses, 0, "no rest while loading");
    const paused = once(stream, "pause");
    stream.write("loaded\n");
    await paused;
    assert.deepEqual(lines, ["loading", "buffers", "loaded"]);
  });
});
