import { execFile } from "node:child_process";
import { totalmem } from "node:os";
import { promisify } from "node:util";
import type { RequiredMemory } from "../inference/required-memory.ts";

const run = promisify(execFile);

/**
 * What runners may use together: the machine's RAM, and the VRAM of every GPU
 * `nvidia-smi` reports that the engines may use (`CUDA_VISIBLE_DEVICES`,
 * which the runners inherit, narrows them). Without `nvidia-smi` VRAM is left
 * unbounded, since engines then report none.
 *
 * @example createLoader({ ...options, memory: await detectMemoryBudget() })
 */
export async function detectMemoryBudget(env: NodeJS.ProcessEnv = process.env): Promise<RequiredMemory> {
  return { ram: totalmem(), vram: (await nvidiaVram(env.CUDA_VISIBLE_DEVICES)) ?? Infinity };
}

/** What is asked of `nvidia-smi`: one line per GPU, its index, UUID and total memory in MiB. */
export const nvidiaSmiMemoryQuery = ["--query-gpu=index,uuid,memory.total", "--format=csv,noheader,nounits"] as const;

async function nvidiaVram(visibleDevices: string | undefined): Promise<number | undefined> {
  let stdout: string;
  try {
    ({ stdout } = await run("nvidia-smi", nvidiaSmiMemoryQuery, { timeout: 10_000 }));
  } catch {
    return undefined; // no NVIDIA driver here
  }
  return parseNvidiaSmiMemory(stdout, visibleDevices);
}

/**
 * Bytes of VRAM of the GPUs the runners may use, together, from
 * {@link nvidiaSmiMemoryQuery}'s output: every GPU, or those
 * `CUDA_VISIBLE_DEVICES` lists by index or UUID (`GPU-…`, a prefix is
 * enough, as for CUDA). Undefined when no usable line is a size (no GPU,
 * `[N/A]`, none visible).
 *
 * @example parseNvidiaSmiMemory("0, GPU-5f1c…, 81559\n1, GPU-a2b3…, 81559\n", "1") // 81559 MiB
 */
export function parseNvidiaSmiMemory(stdout: string, visibleDevices?: string): number | undefined {
  const visible = visibleDevices?.split(",").map((device) => device.trim()).filter(Boolean);
  const mebibytes = stdout
    .split("\n")
    .map((line) => line.split(",").map((field) => field.trim()))
    .filter(([index, uuid]) => visible === undefined || visible.some((device) => device === index || (device.startsWith("GPU-") && uuid?.startsWith(device))))
    .map((fields) => Number(fields.at(-1)))
    .filter((value) => value > 0);
  return mebibytes.length ? mebibytes.reduce((sum, value) => sum + value, 0) * 1024 * 1024 : undefined;
}
