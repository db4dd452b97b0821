import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseNvidiaSmiMemory } from "../../src/scheduling/memory-budget.ts";

const MiB = 1024 * 1024;

// What `nvidia-smi --query-gpu=index,uuid,memory.total --format=csv,noheader,nounits` prints (no GPU on this machine to ask).
const twoH100sAndAnL4 = "0, GPU-5f1c6a2e-1111-2222-3333-444455556666, 81559\n1, GPU-a2b3c4d5-1111-2222-3333-444455556666, 81559\n2, GPU-0c0c0c0c-1111-2222-3333-444455556666, 24576\n";

describe("parseNvidiaSmiMemory", () => {
  it("reads one GPU's total in MiB", () => {
    assert.equal(parseNvidiaSmiMemory("0, GPU-5f1c6a2e-1111-2222-3333-444455556666, 81559\n"), 81559 * MiB);
  });

  it("adds up several GPUs", () => {
    assert.equal(parseNvidiaSmiMemory(twoH100sAndAnL4), (2 * 81559 + 24576) * MiB);
  });

  it("counts only the GPUs CUDA_VISIBLE_DEVICES lists, by index or UUID prefix; none visible is no budget", () => {
    assert.equal(parseNvidiaSmiMemory(twoH100sAndAnL4, "2"), 24576 * MiB);
    assert.equal(parseNvidiaSmiMemory(twoH100sAndAnL4, "0, 2"), (81559 + 24576) * MiB);
    assert.equal(parseNvidiaSmiMemory(twoH100sAndAnL4, "GPU-a2b3"), 81559 * MiB);
    assert.equal(parseNvidiaSmiMemory(twoH100sAndAnL4, ""), undefined);
  });

  it("skips what is not a size, and says nothing when no line is one", () => {
    assert.equal(parseNvidiaSmiMemory("0, GPU-1, [N/A]\n1, GPU-2, 16384\n"), 16384 * MiB);
    assert.equal(parseNvidiaSmiMemory("0, GPU-1, [N/A]\n"), undefined);
    assert.equal(parseNvidiaSmiMemory(""), undefined);
    assert.equal(parseNvidiaSmiMemory("No devices were found\n"), undefined);
  });
});
