import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseNvidiaSmiMemory } from "../../src/scheduling/memory-budget.ts";

const MiB = 1024 * 1024;

// What `nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits` prints (no GPU on this machine to ask).
describe("parseNvidiaSmiMemory", () => {
  it("reads one GPU's total in MiB", () => {
    assert.equal(parseNvidiaSmiMemory("81559\n"), 81559 * MiB);
  });

  it("adds up several GPUs", () => {
    assert.equal(parseNvidiaSmiMemory("81559\n81559\n 24576 \n"), (2 * 81559 + 24576) * MiB);
  });

  it("skips what is not a size, and says nothing when no line is one", () => {
    assert.equal(parseNvidiaSmiMemory("[N/A]\n16384\n"), 16384 * MiB);
    assert.equal(parseNvidiaSmiMemory("[N/A]\n"), undefined);
    assert.equal(parseNvidiaSmiMemory(""), undefined);
    assert.equal(parseNvidiaSmiMemory("No devices were found\n"), undefined);
  });
});
