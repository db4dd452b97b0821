import type { RequiredMemory } from "../../inference/index.ts";

/** What a llama-server runner logged about where it put the model: its buffers by device, and the layers it offloaded. */
export interface OffloadReport {
  /** `load_tensors: offloaded 33/33 layers to GPU`; absent before the model loaded. */
  readonly layers?: { readonly offloaded: number; readonly total: number };
  /** Bytes of its model, KV, compute and output buffers in host memory and on devices. */
  readonly memory: RequiredMemory;
}

const offloadedLayers = /offloaded (\d+)\/(\d+) layers to GPU/;
// `load_tensors:   CUDA0 model buffer size =   123.45 MiB`, `llama_kv_cache:  CPU KV buffer size = …` (at -lv 4)
const bufferSize = /:\s+(\S+)\s+(?:model|KV|compute|output|RS) buffer size =\s*([\d.]+) MiB/;

/** A buffer in host memory: the CPU's (`CPU`, `CPU_Mapped`, `CPU_REPACK`) and a GPU backend's pinned host buffers (`CUDA_Host`). */
function isHostBuffer(name: string): boolean {
  return name.startsWith("CPU") || name.endsWith("_Host");
}

/**
 * Reads a runner's stderr line by line into its {@link OffloadReport}: what
 * the engine itself says it allocated, rather than an estimate.
 */
export function offloadReader(): { read(line: string): void; report(): OffloadReport | undefined } {
  let layers: OffloadReport["layers"];
  let ram = 0;
  let vram = 0;
  let seen = false;
  return {
    read(line) {
      const offloaded = offloadedLayers.exec(line);
      if (offloaded) layers = { offloaded: Number(offloaded[1]), total: Number(offloaded[2]) };
      const buffer = bufferSize.exec(line);
      if (!buffer) return;
      seen = true;
      const bytes = Math.round(Number(buffer[2]) * 1024 * 1024);
      if (isHostBuffer(buffer[1]!)) ram += bytes;
      else vram += bytes;
    },
    report: () => (seen ? { layers, memory: { ram, vram } } : undefined),
  };
}
