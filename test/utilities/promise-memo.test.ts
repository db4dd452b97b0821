import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { promiseMemo } from "../../src/utilities/promise-memo.ts";

describe("promiseMemo", () => {
  it("gives later callers of a key the first caller's promise", async () => {
    const memo = promiseMemo<number>(8);
    let made = 0;
    const first = memo("a", async () => ++made);
    const second = memo("a", async () => ++made);
    assert.equal(first, second);
    assert.equal(await second, 1);
    assert.equal(await memo("b", async () => ++made), 2);
  });

  it("forgets a rejected promise, so the next caller tries again", async () => {
    const memo = promiseMemo<string>(8);
    await assert.rejects(memo("a", async () => Promise.reject(new Error("busy"))), /busy/);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(await memo("a", async () => "done"), "done");
  });

  it("keeps at most maxKeys, dropping the oldest first", async () => {
    const memo = promiseMemo<number>(2);
    let made = 0;
    const make = async () => ++made;
    await memo("a", make);
    await memo("b", make);
    await memo("c", make); // "a" goes
    assert.equal(await memo("b", make), 2);
    assert.equal(await memo("a", make), 4);
  });

  it("hands out a key's value once its promise resolved, and nothing for a pending, failed or dropped one", async () => {
    const memo = promiseMemo<number>(1);
    let finish = (_: number) => {};
    const pending = memo("a", () => new Promise<number>((resolve) => (finish = resolve)));
    assert.equal(memo.settled("a"), undefined);
    finish(7);
    await pending;
    assert.equal(memo.settled("a"), 7);
    await assert.rejects(memo("b", async () => Promise.reject(new Error("busy"))), /busy/); // "a" goes
    assert.equal(memo.settled("a"), undefined);
    assert.equal(memo.settled("b"), undefined);
  });
});
