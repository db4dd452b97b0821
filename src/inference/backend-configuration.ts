import * as v from "valibot";
import { validateHFOverrides, type HFOverrides } from "./hf-overrides.ts";
import { InvalidConfigurationError } from "./invalid-configuration-error.ts";
import { validateRuntimeFlags } from "./runtime-flags.ts";

const int32 = v.pipe(v.number(), v.integer(), v.minValue(-2_147_483_648), v.maxValue(2_147_483_647));

/** Speculative decoding: a smaller draft model proposes, the target model verifies. */
export const SpeculativeDecodingConfigSchema = v.strictObject({
  draft_model: v.pipe(v.string(), v.nonEmpty("draft_model must not be empty"), v.maxLength(512)),
  num_tokens: v.optional(v.pipe(int32, v.minValue(1), v.maxValue(256))),
  min_acceptance_rate: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1))),
});

/** A vLLM parser's name (`hermes`, `llama3_json`, `qwen3`): a word, never a path to a plugin. */
const parserName = v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9_]{0,63}$/, "a parser is named by a lowercase word (hermes, llama3_json…)"));

export const VLLMConfigSchema = v.strictObject({
  /** vLLM's `--hf-overrides`: checked key by key by `validateHFOverrides`. */
  "hf-overrides": v.optional(v.custom<HFOverrides>((value) => typeof value === "object" && value !== null && !Array.isArray(value), "hf-overrides must be a JSON object")),
  /**
   * vLLM's `--gpu-memory-utilization`, the share of each GPU it takes at
   * start; 0 < x ≤ 1 as vllm/config/cache.py's pydantic field requires.
   */
  "gpu-memory-utilization": v.optional(v.pipe(v.number(), v.gtValue(0, "gpu-memory-utilization must be above 0"), v.maxValue(1))),
  /** vLLM's `--tool-call-parser` (with `--enable-auto-tool-choice`); by default the model family's. */
  "tool-call-parser": v.optional(parserName),
  /** vLLM's `--reasoning-parser`; by default the model family's, if it has one. */
  "reasoning-parser": v.optional(parserName),
});

export const LlamaCppConfigSchema = v.strictObject({
  /** llama.cpp's `--reasoning-budget` (-1 unrestricted, 0 disables thinking). */
  "reasoning-budget": v.optional(v.pipe(int32, v.minValue(-1))),
  /** `--context-shift` (default here: on, as Ollama) or `--no-context-shift`: what generation does at the context's end. */
  "context-shift": v.optional(v.boolean()),
  /** `--n-gpu-layers`: layers offloaded to the GPU (default: all on a GPU build). */
  "gpu-layers": v.optional(v.pipe(int32, v.minValue(0))),
  /** `--threads` (default: llama-server's). */
  threads: v.optional(v.pipe(int32, v.minValue(1))),
  /** `--batch-size` and `--ubatch-size` (default: llama-server's 2048 and 512). */
  "batch-size": v.optional(v.pipe(int32, v.minValue(1))),
  /** `--load-mode mmap` or `none` (default: llama-server's `auto`). */
  mmap: v.optional(v.boolean()),
  /** `--main-gpu` (default 0). */
  "main-gpu": v.optional(v.pipe(int32, v.minValue(0))),
});

/** The seed's `BackendConfiguration`, with its JSON keys. */
export const BackendConfigurationSchema = v.strictObject({
  "context-size": v.optional(v.pipe(int32, v.minValue(1))),
  "runtime-flags": v.optional(v.pipe(v.array(v.pipe(v.string(), v.maxLength(4096))), v.maxLength(256))),
  speculative: v.optional(SpeculativeDecodingConfigSchema),
  vllm: v.optional(VLLMConfigSchema),
  llamacpp: v.optional(LlamaCppConfigSchema),
});

export type SpeculativeDecodingConfig = v.InferOutput<typeof SpeculativeDecodingConfigSchema>;
export type VLLMConfig = v.InferOutput<typeof VLLMConfigSchema>;
export type LlamaCppConfig = v.InferOutput<typeof LlamaCppConfigSchema>;
export type BackendConfiguration = v.InferOutput<typeof BackendConfigurationSchema>;

/**
 * Reads an untrusted configuration: its shape, then everything in it that
 * would reach a command line (runtime flags, HF overrides).
 *
 * @throws InvalidConfigurationError with a message fit for the client
 */
export function parseBackendConfiguration(input: unknown): BackendConfiguration {
  const result = v.safeParse(BackendConfigurationSchema, input);
  if (!result.success) {
    const issue = result.issues[0];
    const path = issue ? v.getDotPath(issue) : null;
    throw new InvalidConfigurationError(`invalid configuration${path ? ` at ${path}` : ""}: ${issue?.message ?? "malformed"}`);
  }
  const config = result.output;
  validateRuntimeFlags(config["runtime-flags"] ?? []);
  if (config.vllm?.["hf-overrides"] !== undefined) validateHFOverrides(config.vllm["hf-overrides"]);
  return config;
}
