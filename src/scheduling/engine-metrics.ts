import { Counter, Histogram, Registry } from "prom-client";
import type { BackendMode } from "../inference/backend-mode.ts";
import type { RunnerEvent } from "./loader.ts";
import type { ForwardObserver } from "./runner-proxy.ts";
import { createUsageTap, type TokenUsage, type UsageTap } from "./usage-tap.ts";

export interface RequestLabels {
  /** The `X-Request-Origin` header, or `direct`. */
  readonly origin: string;
  readonly model: string;
  readonly mode: BackendMode;
}

/** Hears a request's response pass and end. */
export interface RequestObserver extends ForwardObserver {
  /** The tokens its (2xx) response stated, as read while it passed: final once it has ended. */
  usage(): TokenUsage | undefined;
}

export interface EngineMetrics {
  readonly registry: Registry;
  /** Counts a request, times it and counts its tokens. */
  request(labels: RequestLabels): RequestObserver;
  runnerEvent(event: RunnerEvent): void;
}

const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/**
 * The engines layer's Prometheus metrics: requests per origin, model, mode and
 * outcome, their durations, time to first chunk and tokens (as the engine
 * counted them), and runner loads, unloads and crashes. Registered on `registry` (a fresh one by default).
 */
export function createEngineMetrics(registry = new Registry()): EngineMetrics {
  const requests = new Counter({
    name: "modelgate_engine_requests_total",
    help: "Inference requests, by origin, model, mode and outcome",
    labelNames: ["origin", "model", "mode", "outcome"] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "modelgate_engine_request_duration_seconds",
    help: "Time from a request's arrival to the end of its response",
    labelNames: ["origin", "model", "mode"] as const,
    buckets: latencyBuckets,
    registers: [registry],
  });
  const firstChunk = new Histogram({
    name: "modelgate_engine_time_to_first_chunk_seconds",
    help: "Time from a request's arrival to the first chunk of its response (the first token when streaming)",
    labelNames: ["origin", "model", "mode"] as const,
    buckets: latencyBuckets,
    registers: [registry],
  });
  const promptTokens = new Counter({
    name: "modelgate_engine_prompt_tokens_total",
    help: "Prompt tokens of inference requests, cached ones included, as the engine counted them",
    labelNames: ["origin", "model", "mode"] as const,
    registers: [registry],
  });
  const completionTokens = new Counter({
    name: "modelgate_engine_completion_tokens_total",
    help: "Tokens generated for inference requests, as the engine counted them",
    labelNames: ["origin", "model", "mode"] as const,
    registers: [registry],
  });
  const runnerEvents = new Counter({
    name: "modelgate_runner_events_total",
    help: "Runner loads, unloads and crashes",
    labelNames: ["backend", "model", "mode", "event"] as const,
    registers: [registry],
  });

  return {
    registry,
    request(labels) {
      const started = performance.now();
      const seconds = () => (performance.now() - started) / 1000;
      const plain = { origin: labels.origin, model: labels.model, mode: labels.mode };
      let tap: UsageTap | undefined;
      let firstSeen = false;
      return {
        responded: (status, contentType) => {
          if (status < 300) tap = createUsageTap(contentType);
        },
        chunk: (chunk) => {
          if (!firstSeen) {
            firstSeen = true;
            firstChunk.observe(plain, seconds());
          }
          tap?.push(chunk);
        },
        settled: (outcome) => {
          duration.observe(plain, seconds());
          requests.inc({ ...plain, outcome });
          const usage = tap?.usage();
          if (usage) {
            promptTokens.inc(plain, usage.promptTokens);
            completionTokens.inc(plain, usage.completionTokens);
          }
        },
        usage: () => tap?.usage(),
      };
    },
    runnerEvent: ({ type, backend, model, mode }) => runnerEvents.inc({ backend, model, mode, event: type }),
  };
}
