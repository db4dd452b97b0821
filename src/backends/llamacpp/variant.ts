import { findOnPath, isExecutableFile } from "../find-executable.ts";
import { runCommand } from "../run-command.ts";

/** Which ggml backend a source build of llama-server compiles in. */
export type LlamaCppVariant = "cpu" | "cuda";

/**
 * Where to find the CUDA compiler: `PATH` first, then where the CUDA toolkit
 * installs itself when nobody added it to `PATH`.
 */
export async function findNvcc(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const onPath = await findOnPath("nvcc", env);
  if (onPath) return onPath;
  const fallback = "/usr/local/cuda/bin/nvcc";
  return (await isExecutableFile(fallback)) ? fallback : undefined;
}

/** True when `nvidia-smi -L` lists at least one GPU. */
export async function nvidiaGpuVisible(signal?: AbortSignal): Promise<boolean> {
  try {
    const output = await runCommand("nvidia-smi", ["-L"], { signal });
    return /^GPU \d+:/m.test(output);
  } catch {
    return false;
  }
}

/** `MODELGATE_LLAMA_CUDA` = `on` (build CUDA from source with nvcc) | `off` (no CUDA at all) | `auto` (default). */
export function cudaSetting(env: NodeJS.ProcessEnv = process.env): "on" | "off" | "auto" {
  const setting = (env.MODELGATE_LLAMA_CUDA ?? "auto").toLowerCase();
  if (setting === "on" || setting === "off" || setting === "auto") return setting;
  throw new Error(`MODELGATE_LLAMA_CUDA must be on, off or auto, not ${JSON.stringify(env.MODELGATE_LLAMA_CUDA)}`);
}

/**
 * The variant a source build makes: in auto, CUDA only when both the
 * compiler and a GPU are present, since a CUDA build without a GPU to run on
 * costs hours for nothing.
 */
export async function chooseVariant(env: NodeJS.ProcessEnv = process.env, signal?: AbortSignal): Promise<LlamaCppVariant> {
  const setting = cudaSetting(env);
  if (setting !== "auto") return setting === "on" ? "cuda" : "cpu";
  return (await findNvcc(env)) && (await nvidiaGpuVisible(signal)) ? "cuda" : "cpu";
}
