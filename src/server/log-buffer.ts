/**
 * The recent log lines `GET /logs` serves: the gateway's own, and each
 * runner's stderr, each source in a ring of its own so a chatty runner
 * cannot push the others out. Followers hear every new line.
 */

export interface RunnerLabel {
  /** The name the runner was loaded as (`tiny:latest`). */
  readonly model: string;
  readonly mode: string;
}

export interface LogLine {
  /** Order of arrival across every source. */
  readonly seq: number;
  readonly time: Date;
  /** The runner that wrote it; absent for the gateway's own lines. */
  readonly runner?: RunnerLabel;
  readonly text: string;
}

export interface LogBuffer {
  /** `text` may be a function: it is called once, when the line is first read. */
  gatewayLine(text: string | (() => string), time?: Date): void;
  /** `key` tells runners apart (their socket, say): one ring each. */
  runnerLine(key: string, runner: RunnerLabel, text: string): void;
  /** The buffered lines in order of arrival. */
  lines(): LogLine[];
  /** Calls `onLine` for each new line until the returned function is called, or `onEnd` at `close`. */
  follow(onLine: (line: LogLine) => void, onEnd: () => void): () => void;
  /** Ends every follower: the server is stopping. */
  close(): void;
}

export interface LogBufferOptions {
  /** Lines kept per source. */
  readonly linesPerSource?: number;
  /** Runners whose lines are kept; the one silent longest is forgotten first. */
  readonly maxRunners?: number;
}

interface Ring {
  push(line: LogLine): void;
  items(): LogLine[];
  readonly last: () => number;
}

export function createLogBuffer(options: LogBufferOptions = {}): LogBuffer {
  const { linesPerSource = 2000, maxRunners = 32 } = options;
  const gateway = ring(linesPerSource);
  const runners = new Map<string, Ring>();
  const followers = new Set<{ onLine: (line: LogLine) => void; onEnd: () => void }>();
  let seq = 0;

  const add = (target: Ring, entry: LogLine) => {
    target.push(entry);
    for (const follower of followers) follower.onLine(entry);
  };

  return {
    gatewayLine: (text, time = new Date()) => add(gateway, typeof text === "string" ? { seq: seq++, time, text } : lazyLine(seq++, time, text)),
    runnerLine(key, runner, text) {
      let target = runners.get(key);
      if (!target) {
        if (runners.size >= maxRunners) {
          const quietest = [...runners].reduce((a, b) => (b[1].last() < a[1].last() ? b : a));
          runners.delete(quietest[0]);
        }
        target = ring(linesPerSource);
        runners.set(key, target);
      }
      add(target, { seq: seq++, time: new Date(), runner, text });
    },
    lines: () => [gateway, ...runners.values()].flatMap((source) => source.items()).sort((a, b) => a.seq - b.seq),
    follow(onLine, onEnd) {
      const follower = { onLine, onEnd };
      followers.add(follower);
      return () => void followers.delete(follower);
    },
    close() {
      for (const follower of followers) follower.onEnd();
      followers.clear();
    },
  };
}

/** A line whose text is made when first read. */
function lazyLine(seq: number, time: Date, make: () => string): LogLine {
  let text: string | undefined;
  return {
    seq,
    time,
    get text() {
      return (text ??= make());
    },
  };
}

/** The last `capacity` lines, overwritten in place. */
function ring(capacity: number): Ring {
  const slots: LogLine[] = [];
  let next = 0;
  return {
    push(line) {
      slots[next] = line;
      next = (next + 1) % capacity;
    },
    items: () => (slots.length < capacity ? [...slots] : [...slots.slice(next), ...slots.slice(0, next)]),
    last: () => slots[(next + capacity - 1) % capacity]?.seq ?? -1,
  };
}
