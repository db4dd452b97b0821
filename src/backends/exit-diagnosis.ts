import type { EngineExit } from "./engine-crashed-error.ts";

/** A pattern of an engine's stderr, and the cause it names. Checked in order. */
export type KnownCause = readonly [pattern: RegExp, diagnosis: string];

/**
 * A diagnosis function for `runEngineProcess`: the first known cause found in
 * the stderr tail, with the line that shows it; else, for a SIGKILL nobody
 * sent, the kernel's OOM killer (its most frequent sender).
 */
export function exitDiagnosis(knownCauses: readonly KnownCause[]): (stderr: readonly string[], exit: EngineExit) => string | undefined {
  return (stderr, exit) => {
    for (const [pattern, diagnosis] of knownCauses) {
      const line = stderr.find((candidate) => pattern.test(candidate));
      if (line) return `${diagnosis}: ${line.trim()}`;
    }
    if (exit.signal === "SIGKILL") return "killed from outside, possibly by the kernel's out-of-memory killer";
    return undefined;
  };
}
