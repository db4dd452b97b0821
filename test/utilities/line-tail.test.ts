import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LineTail } from "../../src/utilities/line-tail.ts";

describe("LineTail", () => {
  it("keeps the last lines up to the line limit", () => {
    const tail = new LineTail({ maxLines: 3, maxBytes: 1000 });
    for (let i = 1; i <= 5; i++) tail.push(`line ${i}`);
    assert.deepEqual(tail.lines(), ["line 3", "line 4", "line 5"]);
    assert.equal(tail.text(), "line 3\nline 4\nline 5");
  });

  it("keeps the last lines up to the byte limit", () => {
    const tail = new LineTail({ maxLines: 100, maxBytes: 10 });
    for (const line of ["aaaa", "bbbb", "cccc"]) tail.push(line);
    assert.deepEqual(tail.lines(), ["bbbb", "cccc"]);
  });

  it("keeps the end of a line longer than the whole budget", () => {
    const tail = new LineTail({ maxLines: 5, maxBytes: 4 });
    tail.push("short");
    tail.push("0123456789");
    assert.deepEqual(tail.lines(), ["6789"]);
  });
});
