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

async function nvidiaVram(): Promise<number | undefined> {
  try {
    const { stdout } = await run("nvidia-smi", ["--query-gpu=memory.total", "--format=csv,noheader,nounits"], { timeout: 10_000 });
    const mebibytes = stdout.split("\n").map((line) => Number(line.trim())).filter((value) => value > 0);
    return mebibytes.length ? mebibytes.reduce((sum, value) => sum + value, 0) * 1024 * 1024 : undefined;
  } catch {
    return undefined; // no NVIDIA driver here
  }
}
