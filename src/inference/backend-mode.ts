/**
 * The mode a backend runs a model in. A string union rather than the seed's
 * uint8 enum: its JSON form is the lowercase name, and no other value exists.
 */
export const backendModes = ["completion", "embedding", "reranking"] as const;

export type BackendMode = (typeof backendModes)[number];

/**
 * Parses a mode name. Unknown names give `completion` and `known: false`,
 * as the seed's `ParseBackendMode` does.
 */
export function parseBackendMode(mode: string): { mode: BackendMode; known: boolean } {
  const found = backendModes.find((m) => m === mode);
  return found ? { mode: found, known: true } : { mode: "completion", known: false };
}
