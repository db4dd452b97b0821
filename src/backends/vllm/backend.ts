import type { Backend, BackendConfiguration, BackendMode, ModelFormat, RequiredMemory } from "../../inference/index.ts";
import { InvalidConfigurationError } from "../../inference/index.ts";
import { runSocketEngine, type EngineBackendOptions, type EngineRunner } from "../socket-engine.ts";
import { checkVllmConfiguration, vllmServeArguments } from "./arguments.ts";
import { diagnoseVllmExit } from "./crash-diagnosis.ts";
import { locateVllm, type VllmCommand } from "./locate.ts";

/** The backend's name, in URLs (`/engines/vllm/…`), socket names and logs. */
export const vllmBackendName = "vllm";

/** A model's files as the store hands them over. */
export interface VllmModelFiles {
  readonly name: string;
  readonly format: ModelFormat;
  /** For safetensors, the model's directory. */
  readonly path: string;
  /** Bytes of its weights. */
  readonly size: number;
}

export interface VllmBackendOptions extends EngineBackendOptions {
  /** Where a model's files are, by id; also used for `speculative.draft_model`. */
  readonly locateModel: (modelId: string) => Promise<VllmModelFiles>;
  /** Finds vLLM's CLI; `locateVllm` unless replaced. */
  readonly locate?: (signal: AbortSignal) => Promise<VllmCommand>;
}

type InstallState =
  | { readonly phase: "not looked for" }
  | { readonly phase: "not installed"; readonly error: Error }
  | { readonly phase: "installed"; readonly vllm: VllmCommand };

/**
 * The vLLM backend: one `vllm serve` process per safetensors model and mode,
 * on a Unix socket, killed with the gateway. vLLM is located, never
 * installed; without it the backend says how to get it and refuses to run.
 */
export function createVllmBackend(options: VllmBackendOptions): Backend {
  const { locateModel, logger } = options;
  const locate = options.locate ?? ((signal: AbortSignal) => locateVllm(process.env, signal));
  let state: InstallState = { phase: "not looked for" };

  /** Looked for again while absent: it may have been installed since. */
  async function vllm(signal: AbortSignal): Promise<VllmCommand> {
    if (state.phase === "installed") return state.vllm;
    try {
      const found = await locate(signal);
      logger.info({ command: found.command, prefix: found.prefix, source: found.source }, "vLLM found");
      state = { phase: "installed", vllm: found };
      return found;
    } catch (error) {
      if (!signal.aborted) state = { phase: "not installed", error: error as Error };
      throw error;
    }
  }

  async function safetensorsDir(model: string, role: string): Promise<VllmModelFiles> {
    const files = await locateModel(model);
    if (files.format !== "safetensors") {
      throw new InvalidConfigurationError(`vllm serves safetensors models; ${role} ${files.name} is ${files.format.toUpperCase()}`);
    }
    return files;
  }

  /** Everything but the binary: checked before a load is queued, so a bad configuration starts nothing. */
  async function serveArguments(socket: string, model: string, modelRef: string, mode: BackendMode, config?: BackendConfiguration) {
    const files = await safetensorsDir(model, "model");
    const draft = config?.speculative ? await safetensorsDir(config.speculative.draft_model, "draft model") : undefined;
    // Requests are sent naming `modelRef` (checksModelName); the id stays usable for direct callers.
    const args = vllmServeArguments({ modelDir: files.path, draftDir: draft?.path, socket, servedNames: [modelRef, model], mode, config });
    return { args, files };
  }

  return {
    name: vllmBackendName,
    usesExternalModelManagement: false,
    formats: ["safetensors"],
    checksModelName: true,
    checkConfiguration: checkVllmConfiguration,

    async install(signal) {
      await vllm(signal);
    },

    async run(signal, socket, model, modelRef, mode, config) {
      const command = await vllm(signal);
      const { args } = await serveArguments(socket, model, modelRef, mode, config);
      const runner: EngineRunner = { model, modelRef, mode, socket };
      await runSocketEngine(signal, socket, {
        engine: "vllm",
        logger: logger.child({ backend: vllmBackendName, model, modelRef, mode }),
        command: command.command,
        args: [...command.prefix, ...args],
        stopGraceMs: options.stopGraceMs,
        diagnose: diagnoseVllmExit,
        onStderrLine: (line) => options.onLog?.(line, runner),
      });
    },

    status() {
      switch (state.phase) {
        case "installed":
          return `vllm at ${[state.vllm.command, ...state.vllm.prefix].join(" ")} (${state.vllm.source})`;
        case "not installed":
          return `not installed: ${state.error.message}`;
        default:
          return "not looked for yet";
      }
    },

    // vLLM lives in a Python environment modelgate does not manage.
    diskUsage: async () => 0,

    async requiredMemoryForModel(signal, model, config): Promise<RequiredMemory> {
      const { files } = await serveArguments("runner.sock", model, model, "completion", config);
      await vllm(signal); // a bad configuration is refused even where vLLM is missing
      // Weights pass through host memory while loading; on the GPU vLLM takes
      // its `gpu-memory-utilization` share whatever the model, outside this budget.
      return { ram: files.size, vram: 0 };
    },
  };
}
