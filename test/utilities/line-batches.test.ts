import assert from "node:assert/strict";
import { spawn } from "node:child_process";
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

  it("cuts a runaway line's pieces between characters, never inside an emoji's surrogate pair", async () => {
    const lines = await linesOf(["abc😀def", "\n"], { restMs: 1, maxLineLength: 4 });
    assert.deepEqual(lines, ["abc", "😀de", "f"]);
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

  it("takes what was written during a rest as one batch, not one chunk per rest", async () => {
    const stream = new PassThrough();
    const lines: string[] = [];
    let chunks = 0;
    stream.on("data", () => chunks++);
    readLineBatches(stream, (line) => lines.push(line), { restMs: 20 });
    const paused = once(stream, "pause");
    stream.write("first\n");
    await paused;
    for (const line of ["b", "c", "d", "e"]) stream.write(`${line}\n`); // each its own chunk, while resting
    while (lines.length < 5) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.deepEqual(lines, ["first", "b", "c", "d", "e"]);
    assert.equal(chunks, 2, "the four lines that came during the rest are read in one go");
  });

  it("never holds up a real process that writes its log a line at a time (its pipe does not fill)", { timeout: 60_000 }, async () => {
    // 3000 lines, one write each, a quarter of a millisecond apart: read one
    // chunk per rest, the pipe filled and the writer waited (24 s instead of 1).
    const writer = `const fs = require("fs"); for (let i = 0; i < 3000; i++) { fs.writeSync(2, "line " + i + "\\n"); const start = process.hrtime.bigint(); while (process.hrtime.bigint() - start < 250000n); }`;
    const child = spawn(process.execPath, ["-e", writer], { stdio: ["ignore", "ignore", "pipe"] });
    const lines: string[] = [];
    readLineBatches(child.stderr!, (line) => lines.push(line), { restMs: 50 });
    const [code] = (await once(child, "close")) as [number | null];
    assert.equal(code, 0);
    assert.equal(lines.length, 3000);
    assert.equal(lines.at(-1), "line 2999");
  });
});
