import type { BackendMode } from "../inference/backend-mode.ts";

/** What makes two runners interchangeable: one runner exists per key at most. */
export interface RunnerKey {
  readonly backend: string;
  /** The model's content id (`ResolvedModel.id`), so aliases share a runner. */
  readonly model: string;
  readonly mode: BackendMode;
  /** The draft model's id for speculative decoding, or null. */
  readonly draft: string | null;
}

export function sameRunnerKey(a: RunnerKey, b: RunnerKey): boolean {
  return a.backend === b.backend && a.model === b.model && a.mode === b.mode && a.draft === b.draft;
}
