import assert from "node:assert/strict";
import { it } from "node:test";
import { parseKeepAlive } from "../../src/inference/keep-alive.ts";

it("reads keep-alives as Ollama clients send them, in milliseconds", () => {
  const cases: Array<[number | string, number]> = [
    [300, 300_000], [0.5, 500], [0, 0], [-1, -1], [-0.5, -1],
    ["5m", 300_000], ["1h30m", 5_400_000], ["300ms", 300], ["1.5s", 1500], ["-1m", -1], ["0", 0], ["-1", -1], [" 10 ", 10_000],
  ];
  for (const [input, expected] of cases) assert.equal(parseKeepAlive(input), expected, JSON.stringify(input));
});

it("refuses what is neither a number nor a Go duration", () => {
  for (const input of ["", "soon", "PT15M", "5 m", "m5", Infinity, NaN]) assert.throws(() => parseKeepAlive(input), /invalid keep_alive/, String(input));
});
