import { readFileSync } from "node:fs";

const backendLibrary = /\/(libggml-(?!base)[\w-]+\.so)$/;

/**
 * The ggml backend libraries a running process has mapped, read from
 * `/proc/<pid>/maps`: which CPU variant ggml picked, whether the CUDA or
 * Vulkan backend loaded. Empty where `/proc` cannot say.
 *
 * @example loadedGgmlBackends(pid) // ["libggml-cpu-icelake.so", "libggml-cuda.so"]
 */
export function loadedGgmlBackends(pid: number): string[] {
  let maps: string;
  try {
    maps = readFileSync(`/proc/${pid}/maps`, "utf8");
  } catch {
    return [];
  }
  const found = new Set<string>();
  for (const line of maps.split("\n")) {
    const match = backendLibrary.exec(line);
    if (match) found.add(match[1]!);
  }
  return [...found];
}
