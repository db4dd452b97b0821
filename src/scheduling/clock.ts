/** Time as the loader's driver sees it; tests pass a fake to move time by hand. */
export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * Node fires a timeout longer than this after 1 ms (with a
 * TimeoutOverflowWarning): a keep-alive of `8760h` would unload at once.
 * Longer waits are chained.
 */
const longestTimeoutMs = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => {
    const handle: { timer?: NodeJS.Timeout } = {};
    const arm = (remaining: number) => {
      const step = Math.min(remaining, longestTimeoutMs);
      handle.timer = setTimeout(() => (remaining > step ? arm(remaining - step) : callback()), step);
      handle.timer.unref(); // a pending keep-alive must not keep the process alive
    };
    arm(ms);
    return handle;
  },
  clearTimeout: (handle) => clearTimeout((handle as { timer?: NodeJS.Timeout }).timer),
};
