import type { Backend, RequiredMemory } from "../../inference/index.ts";
import { readGGUF, summarizeGGUF } from "../../models/gguf.ts";
import { directorySize } from "../directory-size.ts";
import { runSocketEngine, type EngineBackendOptions, type EngineRunner } from "../socket-engine.ts";
import { llamaServerArguments, type LocatedModel } from "./arguments.ts";
import { diagnoseLlamaServerExit } from "./crash-diagnosis.ts";
import { describeInstallProgress, ensureLlamaServer, type EnsureLlamaServerOptions, type InstallProgress, type LlamaServer } from "./install.ts";
import { checkLlamaCppTuningFlags } from "./tuning-flags.ts";
import { estimateLlamaServerMemory, modelShape, type ModelShape } from "./memory.ts";
import { llamaCppCacheDir } from "./source.ts";

/** The backend's name, in URLs, socket names and logs. */
export const llamaCppBackendName = "llama.cpp";

export interface LlamaCppBackendOptions extends EngineBackendOptions {
  /** Where a model's files are; also used for `speculative.draft_model`. */
  readonly locateModel: (modelId: string) => Promise<LocatedModel>;
  /** Finds or builds llama-server; `ensureLlamaServer` unless replaced. */
  readonly resolveServer?: (options: EnsureLlamaServerOptions) => Promise<LlamaServer>;
  readonly onInstallProgress?: (progress: InstallProgress) => void;
  /** Called when a runner's process started. */
  readonly onSpawn?: (runner: EngineRunner & { readonly pid: number }) => void;
}

type InstallState =
  | { readonly phase: "not installed" }
  | { readonly phase: "installing"; readonly progress?: InstallProgress }
  | { readonly phase: "installed"; readonly server: LlamaServer }
  | { readonly phase: "failed"; readonly error: Error };

/**
 * The llama.cpp backend: one `llama-server` process per model and mode, on
 * a Unix socket, killed with the gateway even when the gateway is killed.
 */
export function createLlamaCppBackend(options: LlamaCppBackendOptions): Backend {
  const { locateModel, logger } = options;
  const resolveServer = options.resolveServer ?? ensureLlamaServer;
  let state: InstallState = { phase: "not installed" };

  /**
   * Each caller resolves with its own signal: concurrent callers share one
   * build inside `ensureLlamaServer`, and one giving up does not fail the others.
   */
  async function server(signal: AbortSignal): Promise<LlamaServer> {
    if (state.phase === "installed") return state.server;
    state = { phase: "installing" };
    try {
      const onProgress = (progress: InstallProgress) => {
        if (state.phase === "installing") state = { phase: "installing", progress };
        options.onInstallProgress?.(progress);
      };
      const found = await resolveServer({ signal, onProgress });
      logger.info({ path: found.path, variant: found.variant, source: found.source }, "llama-server ready");
      state = { phase: "installed", server: found };
      return found;
    } catch (error) {
      if (!signal.aborted) state = { phase: "failed", error: error as Error };
      throw error;
    }
  }

  return {
    name: llamaCppBackendName,
    usesExternalModelManagement: false,
    formats: ["gguf"],

    checkConfiguration(config) {
      checkLlamaCppTuningFlags(config["runtime-flags"] ?? []);
    },

    async install(signal) {
      await server(signal);
    },

    async run(signal, socket, model, modelRef, mode, config) {
      const binary = await server(signal);
      const located = await locateModel(model);
      const draft = config?.speculative ? await locateModel(config.speculative.draft_model) : undefined;
      const shape = mode === "completion" ? undefined : await shapeOf(located);
      const args = llamaServerArguments({
        model: located,
        draft,
        socket,
        alias: modelRef,
        mode,
        config,
        gpu: binary.variant === "cuda",
        modelDeclaresPooling: shape?.declaresPooling,
        trainedContext: shape?.trainedContext,
      });
      const runner: EngineRunner = { model, modelRef, mode, socket };

      await runSocketEngine(signal, socket, {
        engine: "llama-server",
        logger: logger.child({ backend: llamaCppBackendName, model, modelRef, mode }),
        command: binary.path,
        args,
        env: engineEnvironment(process.env),
        stopGraceMs: options.stopGraceMs,
        diagnosis: diagnoseLlamaServerExit,
        onSpawn: (pid) => options.onSpawn?.({ ...runner, pid }),
        onStderrLine: (line) => options.onLog?.(line, runner),
      });
    },

    status() {
      switch (state.phase) {
        case "installed":
          return `llama-server ${state.server.variant} build at ${state.server.path} (${state.server.source})`;
        case "failed":
          return `installation failed: ${state.error.message}`;
        case "installing": {
          // `modelgate engines install` reads the stage and percent from here.
          const { progress } = state;
          if (!progress) return "installing";
          return `installing: ${describeInstallProgress(progress)}`;
        }
        default:
          return state.phase;
      }
    },

    diskUsage() {
      return directorySize(llamaCppCacheDir());
    },

    async requiredMemoryForModel(signal, model, config): Promise<RequiredMemory> {
      const binary = await server(signal);
      const located = await locateModel(model);
      const draft = config?.speculative ? await shapeOf(await locateModel(config.speculative.draft_model)) : undefined;
      return estimateLlamaServerMemory({
        model: await shapeOf(located),
        draft,
        contextSize: config?.["context-size"],
        runtimeFlags: config?.["runtime-flags"],
        gpu: binary.variant === "cuda",
      });
    },
  };
}

async function shapeOf(located: LocatedModel): Promise<ModelShape> {
  return modelShape(located.summary ?? summarizeGGUF(await readGGUF(located.ggufPath)));
}

/**
 * The gateway's environment without `LLAMA_ARG_*`: llama-server reads those
 * as flags, and one left in the environment (`LLAMA_ARG_MODELS_DIR`,
 * `LLAMA_ARG_API_KEY`) would change what modelgate asked for.
 */
function engineEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([key]) => !key.startsWith("LLAMA_ARG_")));
}

