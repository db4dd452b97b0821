/** What the balancer knows of one replica. */
export interface ReplicaHealth {
  readonly up: boolean;
  /** Requests sent to it whose responses are not over yet. */
  readonly outstanding: number;
  /** Why it is down (or last went down); null while it never failed. */
  readonly lastError: string | null;
}

export interface ReplicaBalancer<R> {
  /**
   * The replica to send a request to: among those up, accepted by `serves`
   * and not in `exclude`, the one with the fewest outstanding requests; ties
   * go to the one picked longest ago, so equal replicas take turns. Undefined
   * when none qualifies.
   */
  pick(serves: (replica: R) => boolean, exclude?: ReadonlySet<R>): R | undefined;
  /** Counts a request as outstanding on `replica` until the returned function is called (once; later calls do nothing). */
  begin(replica: R): () => void;
  /** Health checks passed: the replica takes requests again. */
  markUp(replica: R): void;
  /** It failed a health check or a connection: no requests until it is up again. */
  markDown(replica: R, reason: string): void;
  health(replica: R): ReplicaHealth;
}

interface Slot {
  up: boolean;
  outstanding: number;
  lastError: string | null;
  /** When it was last picked, in picks; 0 never. */
  lastPicked: number;
}

/**
 * Least-outstanding-requests balancing over a fixed set of replicas, with
 * their health as events set it. Replicas start down, until a first check
 * passes. Pure bookkeeping: no timers, no I/O.
 *
 * @example
 * const balancer = createReplicaBalancer(["a", "b"]);
 * balancer.markUp("a"); balancer.markUp("b");
 * const done = balancer.begin(balancer.pick(() => true)!); // "a"
 * balancer.pick(() => true); // "b": fewer outstanding
 */
export function createReplicaBalancer<R>(replicas: readonly R[]): ReplicaBalancer<R> {
  const slots = new Map<R, Slot>(replicas.map((replica) => [replica, { up: false, outstanding: 0, lastError: "not checked yet", lastPicked: 0 }]));
  let picks = 0;

  const slot = (replica: R): Slot => {
    const found = slots.get(replica);
    if (!found) throw new Error("not a replica of this balancer");
    return found;
  };

  return {
    pick(serves, exclude) {
      let best: [R, Slot] | undefined;
      for (const [replica, candidate] of slots) {
        if (!candidate.up || exclude?.has(replica) || !serves(replica)) continue;
        const better =
          !best ||
          candidate.outstanding < best[1].outstanding ||
          (candidate.outstanding === best[1].outstanding && candidate.lastPicked < best[1].lastPicked);
        if (better) best = [replica, candidate];
      }
      if (!best) return undefined;
      best[1].lastPicked = ++picks;
      return best[0];
    },

    begin(replica) {
      const counted = slot(replica);
      counted.outstanding += 1;
      let ended = false;
      return () => {
        if (ended) return;
        ended = true;
        counted.outstanding -= 1;
      };
    },

    markUp(replica) {
      slot(replica).up = true;
    },

    markDown(replica, reason) {
      const marked = slot(replica);
      marked.up = false;
      marked.lastError = reason;
    },

    health(replica) {
      const { up, outstanding, lastError } = slot(replica);
      return { up, outstanding, lastError };
    },
  };
}
