import type { BackendConfiguration, BackendMode } from "../../inference/index.ts";
import { InvalidConfigurationError, refuseLlamaCppSettings, validateHFOverrides, validateRuntimeFlags } from "../../inference/index.ts";
import { checkVllmTuningFlags } from "./tuning-flags.ts";

export interface VllmServeArgumentsInput {
  /** The Hugging Face directory: `config.json`, `*.safetensors`, tokenizer files. */
  readonly modelDir: string;
  /** The located `speculative.draft_model` directory; required when the configuration names one. */
  readonly draftDir?: string;
  readonly socket: string;
  /** The names requests may use: the first is the one responses carry. */
  readonly servedNames: readonly [string, ...string[]];
  readonly mode: BackendMode;
  readonly config?: BackendConfiguration;
}

/**
 * How many tokens the draft proposes when the configuration does not say
 * (vLLM requires a number; its documentation's examples use 5).
 */
export const defaultSpeculativeTokens = 5;

/**
 * The `vllm serve` command line for one model, mode and configuration, in
 * the order Docker Model Runner writes it: model and socket, runner, context,
 * user flags, then what modelgate validated itself (GPU share, HF overrides,
 * speculative decoding) and the served names last.
 *
 * @throws InvalidConfigurationError for a forbidden runtime flag, a GPU
 *   share outside [0, 1], bad HF overrides, or speculative settings vLLM lacks
 */
export function vllmServeArguments(input: VllmServeArgumentsInput): string[] {
  const { modelDir, draftDir, socket, servedNames, mode, config } = input;
  if (config) checkVllmConfiguration(config);
  const runtimeFlags = config?.["runtime-flags"] ?? [];

  const args = ["serve", modelDir, "--uds", socket];
  // Embeddings, reranking and scores are all served by vLLM's pooling runner.
  if (mode !== "completion") args.push("--runner", "pooling");
  const contextSize = config?.["context-size"];
  if (contextSize !== undefined) args.push("--max-model-len", String(contextSize));
  args.push(...runtimeFlags);

  const vllm = config?.vllm;
  const gpuShare = vllm?.["gpu-memory-utilization"];
  if (gpuShare !== undefined) args.push("--gpu-memory-utilization", String(gpuShare));
  const overrides = vllm?.["hf-overrides"];
  if (overrides !== undefined) args.push("--hf-overrides", JSON.stringify(overrides));

  const speculative = config?.speculative;
  if (speculative) {
    if (!draftDir) throw new InvalidConfigurationError(`draft model ${speculative.draft_model} was not found`);
    const speculativeConfig = { model: draftDir, num_speculative_tokens: speculative.num_tokens ?? defaultSpeculativeTokens };
    args.push("--speculative-config", JSON.stringify(speculativeConfig));
  }

  args.push("--served-model-name", ...servedNames);
  return args;
}

/**
 * Everything in a configuration that vLLM would refuse or that must not reach
 * its command line: runtime flags (no paths, control characters or
 * manager-owned flags; only tuning flags), a GPU share outside [0, 1], HF
 * overrides with bad keys or values, a minimum acceptance rate (vLLM has none),
 * llama.cpp's own settings.
 *
 * @throws InvalidConfigurationError naming the first problem
 */
export function checkVllmConfiguration(config: BackendConfiguration): void {
  const runtimeFlags = config["runtime-flags"] ?? [];
  validateRuntimeFlags(runtimeFlags);
  checkVllmTuningFlags(runtimeFlags);
  const gpuShare = config.vllm?.["gpu-memory-utilization"];
  if (gpuShare !== undefined && !(gpuShare >= 0 && gpuShare <= 1)) {
    throw new InvalidConfigurationError(`gpu-memory-utilization must be between 0 and 1, not ${gpuShare}`);
  }
  const overrides = config.vllm?.["hf-overrides"];
  if (overrides !== undefined) validateHFOverrides(overrides);
  if (config.speculative?.min_acceptance_rate !== undefined) {
    throw new InvalidConfigurationError("vLLM has no minimum acceptance rate for drafts: leave min_acceptance_rate out");
  }
  refuseLlamaCppSettings("vLLM", config);
}
