import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { InvalidConfigurationError } from "../../inference/index.ts";

/** What `vllm serve`'s arguments depend on in a model's `config.json`. */
export interface VllmModelFacts {
  /** The context vLLM derives from the config; absent when no key says (vLLM then assumes 2048). */
  readonly nativeContext?: number;
  readonly modelType?: string;
  readonly architectures: readonly string[];
}

/**
 * The keys vLLM reads a model's native context from, the smallest winning
 * (vllm/config/model.py, `_get_and_verify_max_len`). Rope scaling, which
 * vLLM may multiply in, is left out: the clamp errs on the short side.
 */
const contextKeys = ["max_position_embeddings", "n_positions", "max_seq_len", "seq_length", "model_max_length", "max_sequence_length", "max_seq_length", "seq_len"];

/** A config.json is a few kilobytes; anything far larger is not one. */
const maxConfigBytes = 4 * 1024 * 1024;

/** @throws InvalidConfigurationError when config.json is missing, huge or not a JSON object */
export async function readVllmModelFacts(dir: string): Promise<VllmModelFacts> {
  const path = join(dir, "config.json");
  let config: unknown;
  try {
    if ((await stat(path)).size > maxConfigBytes) throw new Error("too large");
    config = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    throw new InvalidConfigurationError(`the model's config.json cannot be read: ${(error as Error).message}`);
  }
  if (typeof config !== "object" || config === null || Array.isArray(config)) throw new InvalidConfigurationError("the model's config.json is not a JSON object");
  const fields = config as Record<string, unknown>;
  const contexts = contextKeys.map((key) => fields[key]).filter((value): value is number => Number.isSafeInteger(value) && (value as number) > 0);
  return {
    ...(contexts.length ? { nativeContext: Math.min(...contexts) } : {}),
    ...(typeof fields.model_type === "string" ? { modelType: fields.model_type } : {}),
    architectures: Array.isArray(fields.architectures) ? fields.architectures.filter((name): name is string => typeof name === "string") : [],
  };
}

/**
 * The `method` of `--speculative-config` for a draft: EAGLE heads name
 * themselves in their architectures (`EagleLlamaForCausalLM`,
 * `Eagle3LlamaForCausalLM`, `LlamaForCausalLMEagle3`); any other model is a
 * plain draft model (vllm/config/speculative.py's methods).
 */
export function speculativeMethod(draft: VllmModelFacts): "eagle" | "eagle3" | "draft_model" {
  const names = draft.architectures.join(" ");
  if (/eagle3/i.test(names)) return "eagle3";
  if (/eagle/i.test(names)) return "eagle";
  return "draft_model";
}

/** The parsers vLLM has for a model family's tool calls and reasoning. */
export interface FamilyParsers {
  readonly tool?: string;
  readonly reasoning?: string;
}

/**
 * Tool-call (and reasoning) parsers by `model_type`, as vLLM's tool calling
 * guide pairs them (docs/features/tool_calling.md, docs/features/reasoning_outputs.md):
 * Qwen2.5 and Qwen3 write Hermes-style `<tool_call>`, Llama 3.1–3.3 JSON,
 * Mistral its own `[TOOL_CALLS]`. Families not listed get no parser: their
 * requests with `tools` are refused, unless `_configure` names one.
 */
const parsersByModelType: ReadonlyMap<string, FamilyParsers> = new Map(Object.entries({
  qwen2: { tool: "hermes" },
  qwen2_moe: { tool: "hermes" },
  qwen3: { tool: "hermes", reasoning: "qwen3" },
  qwen3_moe: { tool: "hermes", reasoning: "qwen3" },
  llama: { tool: "llama3_json" },
  mistral: { tool: "mistral" },
  granite: { tool: "granite" },
  internlm2: { tool: "internlm" },
  gpt_oss: { tool: "openai", reasoning: "openai_gptoss" },
}));

export function familyParsers(facts: VllmModelFacts): FamilyParsers {
  return (facts.modelType !== undefined && parsersByModelType.get(facts.modelType)) || {};
}
