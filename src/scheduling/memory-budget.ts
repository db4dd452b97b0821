import { execFile } from "node:child_process";
import { totalmem } from "node:os";
import { promisify } from "node:util";
import type { RequiredMemory } from "../inference/required-memory.ts";

const run = promisify(execFile);

/**
 * What runners may use together: the machine's RAM, and the VRAM of every GPU
 * `nvidia-smi` reports. Without `nvidia-smi` VRAM is left unbounded, since
 * engines then report none.
 *
 * @example createLoader({ ...options, memory: await detectMemoryBudget() })
 */
export async function detectMemoryBudget(): Promise<RequiredMemory> {
  return { ram: totalmem(), vram: (await nvidiaVram()) ?? Infinity };
}

/** What is asked of `nvidia-smi`: one line per GPU, its total memory in MiB. */
export const nvidiaSmiMemoryQuery = ["--query-gpu=memory.total", "--format=csv,noheader,nounits"] as const;

async function nvidiaVram(): Promise<number | undefined> {
  let stdout: string;
  try {
    ({ stdout } = await run("nvidia-smi", nvidiaSmiMemoryQuery, { timeout: 10_000 }));
  } catch {
    return undefined; // no NVIDIA driver here
  }
  return parseNvidiaSmiMemory(stdout);
}

/**
 * Bytes of VRAM of every GPU together, from {@link nvidiaSmiMemoryQuery}'s
 * output; undefined when no line is a size (no GPU, `[N/A]`).
 *
 * @example parseNvidiaSmiMemory("81559\n81559\n") // 2 × 81559 MiB
 */
export function parseNvidiaSmiMemory(stdout: string): number | undefined {
  const mebibytes = stdout.split("\n").map((line) => Number(line.trim())).filter((value) => value > 0);
  return mebibytes.length ? mebibytes.reduce((sum, value) => sum + value, 0) * 1024 * 1024 : undefined;
}
