import type { BackendConfiguration, BackendMode } from "../../inference/index.ts";
import { InvalidConfigurationError, validateRuntimeFlags } from "../../inference/index.ts";
import type { GGUFModelInfo } from "../../models/gguf.ts";
import { draftGpuLayersFlags, gpuLayersFlags, hasFlag } from "./flag-values.ts";
import { contextArguments } from "./slots.ts";
import { checkLlamaCppTuningFlags } from "./tuning-flags.ts";

/** A model's files on disk, as the model store hands them over. */
export interface LocatedModel {
  readonly ggufPath: string;
  /** The GGUF's summary, when the caller has it: saves reading the file again to plan memory. */
  readonly summary?: GGUFModelInfo;
  /** The multimodal projector, for models that see images. */
  readonly mmprojPath?: string;
}

export interface LlamaServerArgumentsInput {
  readonly model: LocatedModel;
  /** The located `speculative.draft_model`; required when the configuration names one. */
  readonly draft?: LocatedModel;
  readonly socket: string;
  /** The name responses carry in `model` (else llama-server reports the file's path). */
  readonly alias?: string;
  readonly mode: BackendMode;
  readonly config?: BackendConfiguration;
  /** True when the binary is a GPU build and a GPU is visible: every layer is offloaded unless the runtime flags say otherwise. */
  readonly gpu: boolean;
  /**
   * Embedding mode only: whether the model's GGUF declares a pooling type.
   * Without one llama-server pools nothing and refuses OpenAI embeddings, so
   * mean pooling is asked for (unless the runtime flags choose).
   */
  readonly modelDeclaresPooling?: boolean;
  /**
   * The model's trained context. Embedding and reranking: an input must fit
   * one micro-batch there, so the batch is made as large as the context
   * (llama-server's default of 512 refuses longer inputs with a 500).
   * Completion: the context a shifting runner's default token limit counts.
   */
  readonly trainedContext?: number;
}

const modeArguments: Record<BackendMode, readonly string[]> = {
  completion: [],
  embedding: ["--embeddings"],
  // --reranking implies --embeddings and rank pooling; both are said for clarity.
  reranking: ["--embeddings", "--reranking"],
};

/**
 * The llama-server command line for one model, mode and configuration. User
 * runtime flags come after modelgate's own, so they may tune (threads,
 * sampling, batch sizes) but the allow-list keeps them from redirecting
 * the model, the socket or the mode.
 *
 * @throws InvalidConfigurationError for a forbidden runtime flag, or a draft model that was not located
 */
export function llamaServerArguments(input: LlamaServerArgumentsInput): string[] {
  const { model, draft, socket, alias, mode, config, gpu, modelDeclaresPooling = true, trainedContext } = input;
  const runtimeFlags = config?.["runtime-flags"] ?? [];
  validateRuntimeFlags(runtimeFlags);
  checkLlamaCppTuningFlags(runtimeFlags);

  // Verbosity 4 logs each buffer's size by device: what the runner reports it allocated and offloaded.
  const args = ["--metrics", "-lv", "4"];
  const llamacpp = config?.llamacpp;
  const gpuLayers = llamacpp?.["gpu-layers"];
  if (gpuLayers !== undefined) args.push("--n-gpu-layers", String(gpuLayers));
  else if (gpu && !hasFlag(runtimeFlags, gpuLayersFlags)) args.push("-ngl", "999");
  args.push("--model", model.ggufPath, "--host", socket);
  if (alias !== undefined) args.push("--alias", alias);
  args.push(...modeArguments[mode]);
  if (mode === "embedding" && !modelDeclaresPooling && !hasFlag(runtimeFlags, ["--pooling"])) {
    args.push("--pooling", "mean");
  }

  const reasoningBudget = llamacpp?.["reasoning-budget"];
  if (reasoningBudget !== undefined) args.push("--reasoning-budget", String(reasoningBudget));
  const contextSize = config?.["context-size"];
  const batch = mode === "completion" ? llamacpp?.["batch-size"] : (contextSize ?? trainedContext);
  if (batch !== undefined) args.push("--batch-size", String(batch), "--ubatch-size", String(batch));
  if (llamacpp?.threads !== undefined) args.push("--threads", String(llamacpp.threads));
  if (llamacpp?.mmap !== undefined) args.push("--load-mode", llamacpp.mmap ? "mmap" : "none");
  // As Ollama: the whole model on that one GPU.
  if (llamacpp?.["main-gpu"] !== undefined) args.push("--split-mode", "none", "--main-gpu", String(llamacpp["main-gpu"]));
  args.push(...contextArguments(contextSize, runtimeFlags));
  if (mode === "completion") args.push(...contextShiftArguments(llamacpp?.["context-shift"] ?? true, contextSize ?? trainedContext));

  const speculative = config?.speculative;
  if (speculative) {
    if (!draft) throw new InvalidConfigurationError(`draft model ${speculative.draft_model} was not found`);
    // Without a speculative type this llama.cpp loads the draft model yet drafts nothing.
    args.push("--spec-type", "draft-simple", "--spec-draft-model", draft.ggufPath);
    if (gpu && !hasFlag(runtimeFlags, draftGpuLayersFlags)) args.push("--spec-draft-ngl", "999");
    if (speculative.num_tokens !== undefined) args.push("--spec-draft-n-max", String(speculative.num_tokens));
    if (speculative.min_acceptance_rate !== undefined) args.push("--spec-draft-p-min", String(speculative.min_acceptance_rate));
  }

  args.push(...runtimeFlags);
  // Jinja templates are this version's default and work alongside a projector;
  // saying so keeps older binaries (LLAMA_SERVER_PATH) on the same templates.
  args.push("--jinja");
  if (model.mmprojPath) args.push("--mmproj", model.mmprojPath);
  return args;
}

/**
 * Ollama shifts the context by default: once generation fills it, the oldest
 * tokens after the kept prefix make room (llama-server's `--context-shift`).
 * Shifting, a request without a token limit could run forever, so its
 * default limit is ten contexts' worth, as Ollama bounds it. Without a shift
 * llama-server stops at the context's end with `finish_reason: "length"`.
 */
function contextShiftArguments(shift: boolean, contextSize: number | undefined): string[] {
  if (!shift) return ["--no-context-shift"];
  return ["--context-shift", ...(contextSize === undefined ? [] : ["--n-predict", String(openEndedContexts * contextSize)])];
}

/** Ollama's `openEndedGenerationContextMultiplier`. */
const openEndedContexts = 10;
