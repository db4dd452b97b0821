/**
 * Which models' runners serve Anthropic's Messages API themselves. llama-server
 * does; `vllm serve` does from 0.11.1 (vLLM PR #22627, vllm/entrypoints/anthropic/,
 * `POST /v1/messages` and `/v1/messages/count_tokens`), and before that
 * FastAPI answers the route with 404 `{"detail": "Not Found"}`. The first
 * request to a runner is the probe: sent natively, a 404 that names no
 * missing model marks the model's runner as lacking the route, and its
 * requests are translated to chat completions from then on, until a new
 * runner loads (its version may differ), which is probed again.
 */
import { EngineRefusal } from "../engines/engines.ts";

export interface NativeRouteProbe {
  /** Whether to try the runner's own route (not known to lack it). */
  native(model: string): boolean;
  /** Reads a refusal of the native route; true when it says the runner lacks the route (now remembered). */
  lacking(model: string, error: unknown): boolean;
  /** A new runner loaded for `model`: probe it again. */
  runnerLoaded(model: string): void;
}

/** The engines' codes for a 404 about the request's model or backend, not the route. */
const notTheRoute = new Set(["model_not_found", "backend_not_found"]);

export function createNativeRouteProbe(): NativeRouteProbe {
  // Only models a runner has answered for are kept: bounded by the models there are.
  const lacking = new Set<string>();
  return {
    native: (model) => !lacking.has(model),
    lacking(model, error) {
      if (!(error instanceof EngineRefusal) || error.status !== 404) return false;
      if (error.code !== null && notTheRoute.has(error.code)) return false;
      lacking.add(model);
      return true;
    },
    runnerLoaded: (model) => void lacking.delete(model),
  };
}
