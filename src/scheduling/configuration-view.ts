import type { BackendConfiguration } from "../inference/backend-configuration.ts";
import type { ConfigurationInForce } from "./loader.ts";

/**
 * `GET /_configure`: what the model's next runner starts with. Every
 * setting is shown; null means the engine's own default (for llama.cpp:
 * the model's context fitted to memory, an unrestricted reasoning budget,
 * 3 draft tokens). `stored` is exactly what was configured, in the shape
 * `POST /_configure` takes, or null.
 *
 * @example configurationView(await loader.configurationOf({ model: "tiny" }))
 * // { model: "tiny:latest", backend: "llama.cpp", mode: "completion", "context-size": null, …, keep_alive: 300, stored: null }
 */
export function configurationView({ model, backend, mode, stored, keepAliveMs }: ConfigurationInForce) {
  const config: BackendConfiguration = stored?.config ?? {};
  const { speculative } = config;
  return {
    model: model.name,
    backend,
    mode,
    "context-size": config["context-size"] ?? null,
    "runtime-flags": config["runtime-flags"] ?? [],
    speculative: speculative
      ? {
          draft_model: speculative.draft_model,
          num_tokens: speculative.num_tokens ?? null,
          min_acceptance_rate: speculative.min_acceptance_rate ?? null,
        }
      : null,
    llamacpp: { "reasoning-budget": config.llamacpp?.["reasoning-budget"] ?? null },
    ...(config.vllm ? { vllm: config.vllm } : {}),
    keep_alive: keepAliveSeconds(keepAliveMs),
    stored: stored
      ? { ...stored.config, ...(stored.keepAliveMs === undefined ? {} : { keep_alive: keepAliveSeconds(stored.keepAliveMs) }) }
      : null,
  };
}

/** As Ollama's `keep_alive` number: seconds, -1 for forever. */
function keepAliveSeconds(ms: number): number {
  return ms < 0 ? -1 : ms / 1000;
}
