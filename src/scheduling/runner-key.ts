import type { BackendConfiguration } from "../inference/backend-configuration.ts";
import type { BackendMode } from "../inference/backend-mode.ts";

/** What makes two runners interchangeable: one runner exists per key at most. */
export interface RunnerKey {
  readonly backend: string;
  /** The model's content id (`ResolvedModel.id`), so aliases share a runner. */
  readonly model: string;
  readonly mode: BackendMode;
  /** The draft model's id for speculative decoding, or null. */
  readonly draft: string | null;
  /** The configuration the runner starts with (see `configurationIdentity`): its context size, its load settings. */
  readonly config: string;
}

export function sameRunnerKey(a: RunnerKey, b: RunnerKey): boolean {
  return a.backend === b.backend && a.model === b.model && a.mode === b.mode && a.draft === b.draft && a.config === b.config;
}

/** A configuration as a string that is the same for equal configurations, whatever their keys' order. */
export function configurationIdentity(config: BackendConfiguration | undefined): string {
  return JSON.stringify(config ?? {}, (_, value: unknown) =>
    value !== null && typeof value === "object" && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1)))
      : value,
  );
}
