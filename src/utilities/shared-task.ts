export interface SharedTaskOptions<P> {
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: P) => void;
}

type Start<T, P> = (signal: AbortSignal, emit: (progress: P) => void) => Promise<T>;

interface Job<T, P> {
  readonly promise: Promise<T>;
  readonly controller: AbortController;
  readonly listeners: Set<(progress: P) => void>;
  waiters: number;
}

/**
 * Runs at most one task per key in this process; later callers join the
 * running one and hear its progress. A caller that aborts stops waiting; the
 * task itself is aborted only once every caller has given up, and that last
 * caller's rejection waits for the task to finish winding down.
 */
export function sharedTasks<T, P>(): (key: string, start: Start<T, P>, options?: SharedTaskOptions<P>) => Promise<T> {
  const jobs = new Map<string, Job<T, P>>();

  return (key, start, { signal, onProgress } = {}) => {
    signal?.throwIfAborted();
    let job = jobs.get(key);
    if (!job) {
      const controller = new AbortController();
      const listeners = new Set<(progress: P) => void>();
      const promise = start(controller.signal, (progress) => listeners.forEach((listen) => listen(progress)));
      const created: Job<T, P> = { promise, controller, listeners, waiters: 0 };
      void promise.then(
        () => jobs.delete(key),
        () => jobs.delete(key),
      );
      jobs.set(key, created);
      job = created;
    }
    return wait(job, signal, onProgress, () => {
      if (jobs.get(key) === job) jobs.delete(key); // newcomers start afresh
    });
  };
}

function wait<T, P>(
  job: Job<T, P>,
  signal: AbortSignal | undefined,
  onProgress: ((progress: P) => void) | undefined,
  forget: () => void,
): Promise<T> {
  job.waiters += 1;
  if (onProgress) job.listeners.add(onProgress);
  return new Promise<T>((resolve, reject) => {
    let left = false;
    const leave = () => {
      if (left) return false;
      left = true;
      job.waiters -= 1;
      if (onProgress) job.listeners.delete(onProgress);
      signal?.removeEventListener("abort", onAbort);
      return true;
    };
    const onAbort = () => {
      if (!leave()) return;
      if (job.waiters > 0) return reject(signal?.reason);
      // The last caller to leave stops the task, and hears back only once it
      // has wound down (processes stopped, scratch removed).
      forget();
      job.controller.abort(signal?.reason);
      job.promise.then(
        () => reject(signal?.reason),
        () => reject(signal?.reason),
      );
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    job.promise.then(
      (value) => leave() && resolve(value),
      (error: unknown) => leave() && reject(error),
    );
  });
}
