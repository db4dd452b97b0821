/**
 * What a model can do, in Ollama's words (`/api/show`'s `capabilities`),
 * derived from its GGUF header and chat template alone, so it is known before
 * any runner loads.
 */
import type { ResolvedModel } from "./model-resolver.ts";

export const capabilityNames = ["completion", "embedding", "tools", "thinking", "insert", "vision"] as const;
export type Capability = (typeof capabilityNames)[number];

/** The facts capabilities follow from. */
export interface CapabilityFacts {
  /** `general.architecture`. */
  readonly architecture: string;
  /** `<arch>.pooling_type`: declared by embedding models. */
  readonly poolingType?: number;
  /** The Jinja chat template the engine applies. */
  readonly chatTemplate?: string;
  /** The tokenizer declares fill-in-the-middle tokens. */
  readonly fillInTheMiddle?: boolean;
  /** A multimodal projector comes with the weights. */
  readonly projector?: boolean;
}

/** Encoder-only architectures: they pool a sequence into a vector and generate nothing. */
const encoderArchitectures = new Set(["bert", "nomic-bert", "nomic-bert-moe", "jina-bert-v2", "jina-bert-v3", "neo-bert", "modern-bert", "t5encoder"]);

/** llama.cpp's pooling types: 0 is none, 1 mean, 2 cls, 3 last, 4 rank. */
const noPooling = 0;

// Templates say what they handle by the variables they read.
const toolsPattern = /\btools\b|\btool_calls\b/;
const thinkingPattern = /<think>|\benable_thinking\b|\breasoning_content\b|\bthinking\b/;
const suffixPattern = /\bsuffix\b|<\|fim_/i;

/**
 * @example modelCapabilities({ architecture: "bert", poolingType: 1 }) // ["embedding"]
 * @example modelCapabilities({ architecture: "llama", chatTemplate: "{% if tools %}…" }) // ["completion", "tools"]
 */
export function modelCapabilities(facts: CapabilityFacts): Capability[] {
  const pools = facts.poolingType !== undefined && facts.poolingType !== noPooling;
  if (pools || encoderArchitectures.has(facts.architecture)) return ["embedding"];
  const template = facts.chatTemplate ?? "";
  const capabilities: Capability[] = ["completion"];
  if (toolsPattern.test(template)) capabilities.push("tools");
  if (thinkingPattern.test(template)) capabilities.push("thinking");
  if (facts.fillInTheMiddle || suffixPattern.test(template)) capabilities.push("insert");
  if (facts.projector) capabilities.push("vision");
  return capabilities;
}

/** What a resolved model can do; worked out once per resolution (the store keeps one while its index is the same). */
export function resolvedCapabilities(model: ResolvedModel): readonly Capability[] {
  let capabilities = resolvedModels.get(model);
  if (!capabilities) {
    const { summary, projectorPath } = model;
    capabilities = Object.freeze(
      modelCapabilities({
        architecture: summary.architecture,
        ...(summary.poolingType === undefined ? {} : { poolingType: summary.poolingType }),
        ...(summary.chatTemplate === undefined ? {} : { chatTemplate: summary.chatTemplate }),
        fillInTheMiddle: summary.fillInTheMiddle ?? false,
        projector: projectorPath !== undefined,
      }),
    );
    resolvedModels.set(model, capabilities);
  }
  return capabilities;
}

const resolvedModels = new WeakMap<ResolvedModel, readonly Capability[]>();

/** GGUF keys of the fill-in-the-middle tokens: current names, then the older ones. */
const fimTokenKeys = [
  ["tokenizer.ggml.fim_pre_token_id", "tokenizer.ggml.fim_suf_token_id", "tokenizer.ggml.fim_mid_token_id"],
  ["tokenizer.ggml.prefix_token_id", "tokenizer.ggml.suffix_token_id", "tokenizer.ggml.middle_token_id"],
] as const;

/** True when a GGUF's metadata names the prefix, suffix and middle tokens infill needs. */
export function hasFillInTheMiddleTokens(metadataKeys: ReadonlySet<string> | ReadonlyMap<string, unknown>): boolean {
  return fimTokenKeys.some((keys) => keys.every((key) => metadataKeys.has(key)));
}
