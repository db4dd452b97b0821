import type { BackendConfiguration, BackendMode } from "../../inference/index.ts";
import { InvalidConfigurationError, refuseLlamaCppSettings, validateHFOverrides, validateRuntimeFlags } from "../../inference/index.ts";
import { familyParsers, speculativeMethod, type VllmModelFacts } from "./model-facts.ts";
import { checkVllmTuningFlags } from "./tuning-flags.ts";
import { hasVllmFeature, requireVllmFeature, type VllmVersion } from "./version.ts";

export interface VllmServeArgumentsInput {
  /** The Hugging Face directory: `config.json`, `*.safetensors`, tokenizer files. */
  readonly modelDir: string;
  /** What its config.json says (see `readVllmModelFacts`). */
  readonly model: VllmModelFacts;
  /** The located `speculative.draft_model` directory and its facts; required when the configuration names one. */
  readonly draft?: { readonly dir: string; readonly facts: VllmModelFacts };
  readonly socket: string;
  /** The names requests may use: the first is the one responses carry. */
  readonly servedNames: readonly [string, ...string[]];
  readonly mode: BackendMode;
  readonly version: VllmVersion;
  readonly config?: BackendConfiguration;
}

/**
 * How many tokens the draft proposes when the configuration does not say
 * (vLLM requires a number; its documentation's examples use 5).
 */
export const defaultSpeculativeTokens = 5;

/**
 * vLLM takes 0.9 of each GPU unless told (0.92 on recent main,
 * vllm/config/cache.py): modelgate always says, so the memory budget counts
 * what the runner really takes.
 */
export const defaultGpuMemoryUtilization = 0.9;

/**
 * The context a runner gets without `context-size` on a vLLM too old for
 * `--max-model-len auto`: vLLM's own default, the model's full native context
 * (128k for Llama 3.1), needs a KV cache most single GPUs lack, and the
 * runner refuses to start. 8192 tokens fit beside a 7B model on a 24 GB GPU.
 */
export const defaultContextCap = 8192;

/**
 * `--max-model-len`: the configured size clamped to the model's native
 * context (above it vLLM refuses to start, vllm/config/model.py); without
 * one, `auto` where the version has it (fits the KV cache), else the native
 * context capped at {@link defaultContextCap}; absent where vLLM's own
 * default (2048 for a config that names no context) applies.
 */
export function vllmMaxModelLen(model: VllmModelFacts, version: VllmVersion, contextSize?: number): string | undefined {
  const native = model.nativeContext;
  if (contextSize !== undefined) return String(native === undefined ? contextSize : Math.min(contextSize, native));
  if (hasVllmFeature(version, "--max-model-len auto")) return "auto";
  return native === undefined ? undefined : String(Math.min(native, defaultContextCap));
}

/** The tool-call and reasoning parsers a completion runner starts with: configured, else the family's. */
export function vllmParsers(model: VllmModelFacts, config?: BackendConfiguration): { tool?: string; reasoning?: string } {
  const family = familyParsers(model);
  const tool = config?.vllm?.["tool-call-parser"] ?? family.tool;
  const reasoning = config?.vllm?.["reasoning-parser"] ?? family.reasoning;
  return { ...(tool ? { tool } : {}), ...(reasoning ? { reasoning } : {}) };
}

/**
 * The `vllm serve` command line for one model, mode and configuration, in
 * the order Docker Model Runner writes it: model and socket, runner, context,
 * user flags, then what modelgate validated itself (GPU share, parsers, HF
 * overrides, speculative decoding) and the served names last.
 *
 * @throws InvalidConfigurationError for a forbidden runtime flag, a GPU
 *   share outside (0, 1], bad HF overrides, or speculative settings vLLM lacks
 * @throws UnsupportedVllmVersionError when the version lacks what is asked
 */
export function vllmServeArguments(input: VllmServeArgumentsInput): string[] {
  const { modelDir, model, draft, socket, servedNames, mode, version, config } = input;
  if (config) checkVllmConfiguration(config);
  requireVllmFeature(version, "--uds");
  const runtimeFlags = config?.["runtime-flags"] ?? [];

  const args = ["serve", modelDir, "--uds", socket];
  // Embeddings, reranking and scores are all served by vLLM's pooling runner.
  if (mode !== "completion") {
    requireVllmFeature(version, "--runner pooling");
    args.push("--runner", "pooling");
  }
  const maxModelLen = vllmMaxModelLen(model, version, config?.["context-size"]);
  if (maxModelLen !== undefined) args.push("--max-model-len", maxModelLen);
  args.push(...runtimeFlags);

  const vllm = config?.vllm;
  args.push("--gpu-memory-utilization", String(vllm?.["gpu-memory-utilization"] ?? defaultGpuMemoryUtilization));
  if (mode === "completion") {
    const parsers = vllmParsers(model, config);
    // vllm/entrypoints/openai/serving_chat.py refuses `tools` without both flags.
    if (parsers.tool) args.push("--enable-auto-tool-choice", "--tool-call-parser", parsers.tool);
    if (parsers.reasoning) args.push("--reasoning-parser", parsers.reasoning);
  }
  const overrides = vllm?.["hf-overrides"];
  if (overrides !== undefined) args.push("--hf-overrides", JSON.stringify(overrides));

  const speculative = config?.speculative;
  if (speculative) {
    if (!draft) throw new InvalidConfigurationError(`draft model ${speculative.draft_model} was not found`);
    // An explicit method: vLLM guesses it from the draft's name otherwise.
    const method = speculativeMethod(draft.facts);
    if (method === "draft_model") requireVllmFeature(version, "draft-model speculative decoding");
    const speculativeConfig = { method, model: draft.dir, num_speculative_tokens: speculative.num_tokens ?? defaultSpeculativeTokens };
    args.push("--speculative-config", JSON.stringify(speculativeConfig));
  }

  args.push("--served-model-name", ...servedNames);
  return args;
}

/**
 * Everything in a configuration that vLLM would refuse or that must not reach
 * its command line: runtime flags (no paths, control characters or
 * manager-owned flags; only tuning flags), a GPU share outside (0, 1], HF
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
  if (gpuShare !== undefined && !(gpuShare > 0 && gpuShare <= 1)) {
    throw new InvalidConfigurationError(`gpu-memory-utilization must be above 0 and at most 1 (vLLM refuses anything else), not ${gpuShare}`);
  }
  const overrides = config.vllm?.["hf-overrides"];
  if (overrides !== undefined) validateHFOverrides(overrides);
  if (config.speculative?.min_acceptance_rate !== undefined) {
    throw new InvalidConfigurationError("vLLM has no minimum acceptance rate for drafts: leave min_acceptance_rate out");
  }
  refuseLlamaCppSettings("vLLM", config);
}
