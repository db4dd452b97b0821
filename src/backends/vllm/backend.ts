import type { Backend, BackendConfiguration, BackendMode, ModelFormat, RequiredMemory } from "../../inference/index.ts";
import { InvalidConfigurationError } from "../../inference/index.ts";
import { runSocketEngine, type EngineBackendOptions, type EngineRunner } from "../socket-engine.ts";
import { checkVllmConfiguration, defaultGpuMemoryUtilization, vllmParsers, vllmServeArguments } from "./arguments.ts";
import { diagnoseVllmExit } from "./crash-diagnosis.ts";
import { locateVllm, readVllmVersion, type InstalledVllm, type VllmCommand } from "./locate.ts";
import { readVllmModelFacts } from "./model-facts.ts";
import { adaptVllmRequest, type VllmRunnerFacts } from "./request-adapter.ts";
import { formatVllmVersion, type VllmVersion } from "./version.ts";

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
  /** Asks it its release; `readVllmVersion` unless replaced. */
  readonly readVersion?: (vllm: VllmCommand, signal: AbortSignal) => Promise<VllmVersion>;
  /**
   * Bytes of VRAM of the GPUs runners share (`detectMemoryBudget`'s); 0 or
   * Infinity when unknown. Each runner claims `gpu-memory-utilization` of it.
   */
  readonly gpuMemory?: number;
  /** How long finding vLLM and reading its release may take; 60 s by default. */
  readonly probeTimeoutMs?: number;
}

type InstallState =
  | { readonly phase: "not looked for" }
  | { readonly phase: "not installed"; readonly error: Error }
  | { readonly phase: "installed"; readonly vllm: InstalledVllm };

/**
 * The vLLM backend: one `vllm serve` process per safetensors model and mode,
 * on a Unix socket, killed with the gateway. vLLM is located, never
 * installed, and its release read once; without it the backend says how to
 * get it and refuses to run.
 */
export function createVllmBackend(options: VllmBackendOptions): Backend {
  const { locateModel, logger } = options;
  const locate = options.locate ?? ((signal: AbortSignal) => locateVllm(process.env, signal));
  const readVersion = options.readVersion ?? readVllmVersion;
  const gpuMemory = Number.isFinite(options.gpuMemory) ? (options.gpuMemory ?? 0) : 0;
  const probeTimeoutMs = options.probeTimeoutMs ?? 60_000;
  let state: InstallState = { phase: "not looked for" };
  /** By model id: what the latest completion runner started with, for `adaptRequest`. */
  const runners = new Map<string, VllmRunnerFacts>();

  /**
   * Looked for again while absent: it may have been installed since. The
   * probe has a deadline of its own, since its callers (the loader's memory
   * estimate) have none: a Python that hangs importing must not hold requests.
   */
  async function vllm(signal: AbortSignal): Promise<InstalledVllm> {
    if (state.phase === "installed") return state.vllm;
    const deadline = AbortSignal.timeout(probeTimeoutMs);
    const probe = AbortSignal.any([signal, deadline]);
    try {
      const found = await locate(probe);
      const version = await readVersion(found, probe);
      logger.info({ command: found.command, prefix: found.prefix, source: found.source, version: formatVllmVersion(version) }, "vLLM found");
      state = { phase: "installed", vllm: { ...found, version } };
      return state.vllm;
    } catch (error) {
      if (signal.aborted) throw error;
      const failure = deadline.aborted ? new Error(`vLLM did not answer within ${probeTimeoutMs / 1000} s (finding it, then vllm --version)`) : (error as Error);
      state = { phase: "not installed", error: failure };
      throw failure;
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
  async function serveArguments(version: VllmVersion, socket: string, model: string, modelRef: string, mode: BackendMode, config?: BackendConfiguration) {
    const files = await safetensorsDir(model, "model");
    const facts = await readVllmModelFacts(files.path);
    const draftFiles = config?.speculative ? await safetensorsDir(config.speculative.draft_model, "draft model") : undefined;
    const draft = draftFiles ? { dir: draftFiles.path, facts: await readVllmModelFacts(draftFiles.path) } : undefined;
    // Requests are sent naming `modelRef` (checksModelName); the id stays usable for direct callers.
    const args = vllmServeArguments({ modelDir: files.path, model: facts, draft, socket, servedNames: [modelRef, model], mode, version, config });
    return { args, files, facts };
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
      const installed = await vllm(signal);
      const { args, facts } = await serveArguments(installed.version, socket, model, modelRef, mode, config);
      if (mode === "completion") {
        const { tool } = vllmParsers(facts, config);
        runners.set(model, { name: modelRef, ...(tool ? { toolParser: tool } : {}) });
      }
      const runner: EngineRunner = { model, modelRef, mode, socket };
      await runSocketEngine(signal, socket, {
        engine: "vllm",
        logger: logger.child({ backend: vllmBackendName, model, modelRef, mode }),
        command: installed.command,
        args: [...installed.prefix, ...args],
        stopGraceMs: options.stopGraceMs,
        // vLLM logs to stdout (vllm/envs.py VLLM_LOGGING_STREAM), its tracebacks to stderr.
        captureStdout: true,
        diagnosis: diagnoseVllmExit,
        onStderrLine: (line) => options.onLog?.(line, runner),
      });
    },

    adaptRequest(request, body) {
      return adaptVllmRequest(request, body, runners.get(request.model) ?? { name: request.model });
    },

    status() {
      switch (state.phase) {
        case "installed":
          return `vllm ${formatVllmVersion(state.vllm.version)} at ${[state.vllm.command, ...state.vllm.prefix].join(" ")} (${state.vllm.source})`;
        case "not installed":
          return `not installed: ${state.error.message}`;
        default:
          return "not looked for yet";
      }
    },

    // vLLM lives in a Python environment modelgate does not manage.
    diskUsage: async () => 0,

    async requiredMemoryForModel(signal, model, config): Promise<RequiredMemory> {
      // A bad configuration is refused even where vLLM is missing; one this version cannot run, before anything starts.
      if (config) checkVllmConfiguration(config);
      await safetensorsDir(model, "model");
      const installed = await vllm(signal);
      const { files } = await serveArguments(installed.version, "runner.sock", model, model, "completion", config);
      // Weights pass through host memory while loading. On the GPU vLLM takes
      // its share of the whole device at start, whatever the model
      // (vllm/v1/worker/gpu_worker.py refuses to start when less is free).
      // Runners are not pinned to GPUs, so the share is counted on all of them.
      const share = config?.vllm?.["gpu-memory-utilization"] ?? defaultGpuMemoryUtilization;
      return { ram: files.size, vram: Math.ceil(share * gpuMemory) };
    },
  };
}
