import type { EngineExit } from "./engine-crashed-error.ts";

/** A pattern of an engine's output, and the cause it names. Checked in order. */
export type KnownCause = readonly [pattern: RegExp, diagnosis: string];

/** Names why an engine stopped, from its output. */
export interface ExitDiagnosis {
  /**
   * True for a line that shows a known cause: kept apart as it comes, since
   * the cause may come long before the end (a Python traceback follows it).
   */
  isCause(line: string): boolean;
  /** The first known cause in `lines` (in pattern order), with the line that shows it. */
  diagnose(lines: readonly string[], exit: EngineExit): string | undefined;
}

/**
 * A diagnosis for `runEngineProcess`: the first known cause found in the
 * engine's output, with the line that shows it; else, for a SIGKILL nobody
 * sent, the kernel's OOM killer (its most frequent sender).
 */
export function exitDiagnosis(knownCauses: readonly KnownCause[]): ExitDiagnosis {
  return {
    isCause: (line) => knownCauses.some(([pattern]) => pattern.test(line)),
    diagnose: (lines, exit) => {
      for (const [pattern, diagnosis] of knownCauses) {
        const line = lines.find((candidate) => pattern.test(candidate));
        if (line) return `${diagnosis}: ${line.trim()}`;
      }
      if (exit.signal === "SIGKILL") return "killed from outside, possibly by the kernel's out-of-memory killer";
      return undefined;
    },
  };
}
