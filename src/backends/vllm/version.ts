/** A vLLM release as `vllm --version` prints it: major, minor, patch. */
export type VllmVersion = readonly [major: number, minor: number, patch: number];

/**
 * The first release with each part of `vllm serve` modelgate relies on:
 * `--uds` (0.9.0), `--runner pooling` (0.10.1, before it `--task embed`),
 * `--max-model-len auto` (0.12.0, vLLM PR #29431: the context fitted to the
 * KV cache), and draft-model speculative decoding (before 0.14.0
 * vllm/config/speculative.py raises NotImplementedError, vLLM issue #31883).
 */
export const vllmFeatures = {
  "--uds": [0, 9, 0],
  "--runner pooling": [0, 10, 1],
  "--max-model-len auto": [0, 12, 0],
  "draft-model speculative decoding": [0, 14, 0],
} as const satisfies Record<string, VllmVersion>;

export type VllmFeature = keyof typeof vllmFeatures;

/** The installed vLLM is too old for what a runner needs. */
export class UnsupportedVllmVersionError extends Error {
  override readonly name = "UnsupportedVllmVersionError";
}

/**
 * Reads `vllm --version`'s output (vllm/entrypoints/cli/main.py prints the
 * package version alone, e.g. `0.11.0` or `0.10.1.1`, sometimes after log lines).
 *
 * @throws Error when no version is in it
 */
export function parseVllmVersion(output: string): VllmVersion {
  const match = /^\s*v?(\d+)\.(\d+)(?:\.(\d+))?/m.exec(output);
  if (!match) throw new Error(`vllm --version printed no version: ${JSON.stringify(output.slice(0, 200))}`);
  return [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)];
}

export function formatVllmVersion(version: VllmVersion): string {
  return version.join(".");
}

export function hasVllmFeature(version: VllmVersion, feature: VllmFeature): boolean {
  const wanted = vllmFeatures[feature];
  for (let i = 0; i < 3; i++) if (version[i] !== wanted[i]) return version[i]! > wanted[i]!;
  return true;
}

/** @throws UnsupportedVllmVersionError naming the feature and the release it needs */
export function requireVllmFeature(version: VllmVersion, feature: VllmFeature): void {
  if (hasVllmFeature(version, feature)) return;
  throw new UnsupportedVllmVersionError(
    `vLLM ${formatVllmVersion(version)} is too old: ${feature} needs vLLM ${formatVllmVersion(vllmFeatures[feature])} or later (pip install -U vllm)`,
  );
}
