import { readdir } from "node:fs/promises";
import { exists } from "../../utilities/atomic-directory.ts";
import { runCommand } from "../run-command.ts";
import { findLibrary, librarySearchDirs } from "./library-search.ts";

/** What decides which prebuilt llama.cpp backends this machine can use. */
export interface GpuHost {
  readonly platform: NodeJS.Platform;
  readonly arch: string;
  /** The NVIDIA driver, when loaded: its GPUs and the newest CUDA it runs (`nvidia-smi`'s "CUDA Version"), when known. */
  readonly nvidiaDriver?: { readonly gpus: readonly string[]; readonly cudaVersion?: number };
  /** DRM render nodes (`/dev/dri/renderD*`): a GPU with a kernel driver, AMD and Intel included. */
  readonly renderNodes: number;
  /** The directory each looked-for library was found in; a missing one is absent. */
  readonly libraries: ReadonlyMap<string, string>;
  /** Where libraries were looked for, for messages saying what is missing. */
  readonly searched: readonly string[];
}

/** Looks at the machine: its GPUs, drivers and the `libraries` GPU backends need. */
export async function detectGpuHost(libraries: readonly string[], env: NodeJS.ProcessEnv = process.env, signal?: AbortSignal): Promise<GpuHost> {
  const searched = await librarySearchDirs(env);
  const found = new Map<string, string>();
  for (const library of libraries) {
    const dir = await findLibrary(library, searched);
    if (dir) found.set(library, dir);
  }
  return {
    platform: process.platform,
    arch: process.arch,
    nvidiaDriver: await detectNvidiaDriver(signal),
    renderNodes: (await readdir("/dev/dri").catch(() => [])).filter((name) => name.startsWith("renderD")).length,
    libraries: found,
    searched,
  };
}

async function detectNvidiaDriver(signal?: AbortSignal): Promise<GpuHost["nvidiaDriver"]> {
  const list = await runCommand("nvidia-smi", ["-L"], { signal }).catch(() => undefined);
  if (list === undefined) return (await exists("/proc/driver/nvidia/version")) ? { gpus: [] } : undefined;
  const gpus = list.split("\n").filter((line) => /^GPU \d+:/.test(line));
  const summary = await runCommand("nvidia-smi", [], { signal }).catch(() => "");
  return { gpus, cudaVersion: parseDriverCudaVersion(summary) };
}

/** `CUDA Version: 12.4` in `nvidia-smi`'s header: the newest CUDA runtime the driver supports. */
export function parseDriverCudaVersion(summary: string): number | undefined {
  const match = /CUDA Version:\s*(\d+\.\d+)/.exec(summary);
  return match ? Number(match[1]) : undefined;
}
