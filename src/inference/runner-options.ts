/**
 * Settings of a runner's start that one request may choose (Ollama's
 * `num_ctx`, `num_gpu`, `shift`…). The request is served by a runner started
 * with them over the model's standing configuration, loaded for it or
 * reused when one with the same settings runs; the standing configuration
 * itself is left alone.
 */
import * as v from "valibot";
import { BackendConfigurationSchema, LlamaCppConfigSchema, type BackendConfiguration, type LlamaCppConfig } from "./backend-configuration.ts";
import { InvalidConfigurationError } from "./invalid-configuration-error.ts";

const llamaCpp = LlamaCppConfigSchema.entries;

/** In the request's `runner_options`; the keys are the configuration's. */
export const RunnerOptionsSchema = v.strictObject({
  "context-size": BackendConfigurationSchema.entries["context-size"],
  "context-shift": llamaCpp["context-shift"],
  "gpu-layers": llamaCpp["gpu-layers"],
  threads: llamaCpp.threads,
  "batch-size": llamaCpp["batch-size"],
  mmap: llamaCpp.mmap,
  "main-gpu": llamaCpp["main-gpu"],
  /** The draft's tokens per step, 0 drafting none; applies only where a draft model is configured. */
  "draft-tokens": v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(256))),
});

export type RunnerOptions = v.InferOutput<typeof RunnerOptionsSchema>;

/** @throws InvalidConfigurationError naming the setting */
export function parseRunnerOptions(input: unknown): RunnerOptions {
  const result = v.safeParse(RunnerOptionsSchema, input);
  if (result.success) return result.output;
  const issue = result.issues[0];
  const path = issue ? v.getDotPath(issue) : null;
  throw new InvalidConfigurationError(`invalid runner_options${path ? ` at ${path}` : ""}: ${issue?.message ?? "malformed"}`);
}

/**
 * The configuration a runner for this request starts with: the standing one,
 * the request's options over it. Without a draft model there is nothing for
 * `draft-tokens` to tune (Ollama, too, drafts nothing then); 0 turns drafting off.
 *
 * @example withRunnerOptions({ "context-size": 4096 }, { "context-size": 512, threads: 2 })
 * // { "context-size": 512, llamacpp: { threads: 2 } }
 */
export function withRunnerOptions(config: BackendConfiguration | undefined, options: RunnerOptions): BackendConfiguration | undefined {
  const { "context-size": contextSize, "draft-tokens": draftTokens, ...llamacpp } = options;
  if (contextSize === undefined && draftTokens === undefined && Object.keys(llamacpp).length === 0) return config;
  const base = config ?? {};
  const { speculative: standingDraft, llamacpp: standingLlamaCpp, ...rest } = base;
  const llamaCppSettings = withoutDefaults({ ...standingLlamaCpp, ...llamacpp });
  const speculative = standingDraft && draftTokens !== undefined ? (draftTokens === 0 ? undefined : { ...standingDraft, num_tokens: draftTokens }) : standingDraft;
  return {
    ...rest,
    ...(contextSize === undefined ? {} : { "context-size": contextSize }),
    ...(speculative ? { speculative } : {}),
    ...(Object.keys(llamaCppSettings).length ? { llamacpp: llamaCppSettings } : {}),
  };
}

/** Shifting is the default: said or not, the same runner serves. */
function withoutDefaults({ "context-shift": shift, ...rest }: LlamaCppConfig): LlamaCppConfig {
  return shift === false ? { ...rest, "context-shift": false } : rest;
}

/**
 * For backends other than llama.cpp: its settings cannot be honoured there,
 * so they are refused by name; no context shift is what such engines do anyway.
 */
export function refuseLlamaCppSettings(backend: string, config: BackendConfiguration): void {
  const { "context-shift": shift, ...rest } = config.llamacpp ?? {};
  const names = [...(shift === true ? ["context-shift"] : []), ...Object.keys(rest)];
  if (names.length) throw new InvalidConfigurationError(`${backend} cannot honour llamacpp.${names.join(", llamacpp.")}: leave it out`);
}
