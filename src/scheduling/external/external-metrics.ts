import { Counter, Gauge, type Registry } from "prom-client";

/** What happened to one request sent to one replica. */
export type AttemptResult = "answered" | "connection_failed";

export interface ExternalMetrics {
  /** A request reached a replica (it answered) or did not (the connection failed before any response). */
  attempt(engine: string, replica: string, result: AttemptResult): void;
  /** A request whose replica failed before answering was sent to another. */
  failover(engine: string): void;
  /** Reports each replica's health at scrape time. */
  watch(engine: string, replicas: () => ReadonlyArray<{ readonly url: string; readonly up: boolean }>): void;
}

/**
 * Metrics of the external engines: requests per replica and how they went,
 * failovers, and which replicas are up. Registered on `registry`.
 */
export function createExternalMetrics(registry: Registry): ExternalMetrics {
  const attempts = new Counter({
    name: "modelgate_external_requests_total",
    help: "Requests sent to external engine replicas, by engine, replica and result (answered, connection_failed)",
    labelNames: ["engine", "replica", "result"] as const,
    registers: [registry],
  });
  const failovers = new Counter({
    name: "modelgate_external_failovers_total",
    help: "Requests sent to another replica after theirs failed before answering",
    labelNames: ["engine"] as const,
    registers: [registry],
  });
  const watched = new Map<string, () => ReadonlyArray<{ readonly url: string; readonly up: boolean }>>();
  new Gauge({
    name: "modelgate_external_replica_up",
    help: "1 while an external engine replica passes its health checks, else 0",
    labelNames: ["engine", "replica"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [engine, replicas] of watched) for (const { url, up } of replicas()) this.set({ engine, replica: url }, up ? 1 : 0);
    },
  });
  return {
    attempt: (engine, replica, result) => attempts.inc({ engine, replica, result }),
    failover: (engine) => failovers.inc({ engine }),
    watch: (engine, replicas) => void watched.set(engine, replicas),
  };
}
