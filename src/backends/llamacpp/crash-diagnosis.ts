import type { EngineExit } from "../engine-crashed-error.ts";

/** Checked in order: an allocation failure also makes the model load fail, and should be named as such. */
const knownCauses: ReadonlyArray<readonly [RegExp, string]> = [
  [/out of memory|failed to allocate|unable to allocate|cudaMalloc failed|bad_alloc/i, "not enough memory for the model"],
  [/failed to load model|error loading model|unable to load model|llama_model_load: error/i, "the model could not be loaded"],
  [/invalid argument|unknown argument|error while handling argument|invalid value/i, "an invalid command-line argument"],
  [/couldn't bind|address already in use|failed to listen/i, "could not listen on its socket"],
];

/**
 * A readable first line for why llama-server stopped, recognised from its
 * stderr, or from a SIGKILL nobody sent (most often the kernel's OOM killer).
 */
export function diagnoseLlamaServerExit(stderr: readonly string[], exit: EngineExit): string | undefined {
  for (const [pattern, diagnosis] of knownCauses) {
    const line = stderr.find((candidate) => pattern.test(candidate));
    if (line) return `${diagnosis}: ${line.trim()}`;
  }
  if (exit.signal === "SIGKILL") return "killed from outside, possibly by the kernel's out-of-memory killer";
  return undefined;
}
