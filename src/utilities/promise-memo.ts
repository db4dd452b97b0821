/**
 * Remembers the promise each key's `make()` gave, so later callers share it;
 * a rejected one is forgotten (the next caller tries again). At most
 * `maxKeys` are kept: past that the oldest goes first, so keys a client
 * chooses (a context size per request) cannot grow it without bound.
 *
 * @example const sizes = promiseMemo<number>(256); await sizes("a", () => work("a"));
 */
export function promiseMemo<T>(maxKeys: number): (key: string, make: () => Promise<T>) => Promise<T> {
  const kept = new Map<string, Promise<T>>();
  return (key, make) => {
    const known = kept.get(key);
    if (known) return known;
    const made = make();
    made.catch(() => {
      if (kept.get(key) === made) kept.delete(key);
    });
    kept.set(key, made);
    if (kept.size > maxKeys) kept.delete(kept.keys().next().value!);
    return made;
  };
}
