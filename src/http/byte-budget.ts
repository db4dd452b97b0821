/**
 * Bytes that requests may hold in memory together: a request takes its
 * share before it buffers and gives it back once done, so many large bodies
 * at once cannot take the process down (each within its own limit).
 */
export interface ByteBudget {
  /** Takes `bytes` if they fit beside what is taken; false, taking nothing, if not. */
  take(bytes: number): boolean;
  give(bytes: number): void;
  readonly taken: number;
  readonly maxBytes: number;
}

export function createByteBudget(maxBytes: number): ByteBudget {
  let taken = 0;
  return {
    take(bytes) {
      if (taken + bytes > maxBytes) return false;
      taken += bytes;
      return true;
    },
    give(bytes) {
      taken -= bytes;
    },
    get taken() {
      return taken;
    },
    maxBytes,
  };
}
