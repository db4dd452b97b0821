import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { sharedTasks } from "../../src/utilities/shared-task.ts";

describe("sharedTasks", () => {
  it("runs one task per key and gives every caller its result and progress", async () => {
    const shared = sharedTasks<string, number>();
    let starts = 0;
    const heard: number[][] = [[], []];
    const start = async (_signal: AbortSignal, emit: (n: number) => void) => {
      starts += 1;
      await sleep(10);
      emit(50);
      return "done";
    };
    const results = await Promise.all([0, 1].map((i) => shared("k", start, { onProgress: (n) => heard[i]!.push(n) })));
    assert.deepEqual(results, ["done", "done"]);
    assert.equal(starts, 1);
    assert.deepEqual(heard, [[50], [50]]);
    await shared("k", start);
    assert.equal(starts, 2, "a finished task is not reused");
  });

  it("aborts the task only when every caller has given up", async () => {
    const shared = sharedTasks<string, never>();
    let taskSignal: AbortSignal | undefined;
    const start = (signal: AbortSignal) => {
      taskSignal = signal;
      return new Promise<string>((resolve, reject) => {
        signal.addEventListener("abort", () => reject(signal.reason));
        setTimeout(() => resolve("done"), 200);
      });
    };
    const first = new AbortController();
    const second = new AbortController();
    const a = shared("k", start, { signal: first.signal });
    const b = shared("k", start, { signal: second.signal });
    first.abort(new Error("first gave up"));
    await assert.rejects(a, /first gave up/);
    assert.equal(taskSignal?.aborted, false);
    second.abort(new Error("second gave up"));
    await assert.rejects(b, /second gave up/);
    assert.equal(taskSignal?.aborted, true);
  });
});
