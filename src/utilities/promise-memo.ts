/** `promiseMemo`'s memo: a key's promise, and its value once it has resolved. */
export interface PromiseMemo<T> {
  (key: string, make: () => Promise<T>): Promise<T>;
  /** The value the key's promise resolved to; undefined while it is pending, failed or forgotten. */
  settled(key: string): T | undefined;
}

/**
 * Remembers the promise each key's `make()` gave, so later callers share it;
 * a rejected one is forgotten (the next caller tries again). At most
 * `maxKeys` are kept: past that the oldest goes first, so keys a client
 * chooses (a context size per request) cannot grow it without bound.
 * `settled` hands out a resolved value without a promise, so a hot path
 * need not wait a turn of the microtask queue for what it already knows.
 *
 * @example const sizes = promiseMemo<number>(256); await sizes("a", () => work("a")); sizes.settled("a") // its value
 */
export function promiseMemo<T>(maxKeys: number): PromiseMemo<T> {
  const kept = new Map<string, Promise<T>>();
  const values = new Map<string, T>();
  const memo = (key: string, make: () => Promise<T>): Promise<T> => {
    const known = kept.get(key);
    if (known) return known;
    const made = make();
    made.then(
      (value) => {
        if (kept.get(key) === made) values.set(key, value);
      },
      () => {
        if (kept.get(key) === made) kept.delete(key);
      },
    );
    kept.set(key, made);
    if (kept.size > maxKeys) {
      const oldest = kept.keys().next().value!;
      kept.delete(oldest);
      values.delete(oldest);
    }
    return made;
  };
  return Object.assign(memo, { settled: (key: string) => values.get(key) });
}
