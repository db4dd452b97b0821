import type { RequiredMemory } from "../../inference/index.ts";
import type { GGUFModelInfo } from "../../models/gguf.ts";

export interface MemoryEstimateInput {
  readonly model: GGUFModelInfo;
  readonly draft?: GGUFModelInfo;
  readonly contextSize?: number;
  readonly gpu: boolean;
}

export function estimateLlamaServerMemory(input: MemoryEstimateInput): RequiredMemory {
  void input;
  return { ram: 0, vram: 0 };
}
