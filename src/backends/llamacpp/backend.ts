import type { Backend, RequiredMemory } from "../../inference/index.ts";
import { readGGUF, summarizeGGUF } from "../../models/gguf.ts";
import { directorySize } from "../directory-size.ts";
import { runSocketEngine, type EngineBackendOptions, type EngineRunner } from "../socket-engine.ts";
import { llamaServerArguments, type LocatedModel } from "./arguments.ts";
import { diagnoseLlamaServerExit } from "./crash-diagnosis.ts";
import { describeInstallProgress, ensureLlamaServer, type EnsureLlamaServerOptions, type InstallProgress, type LlamaServer } from "./install.ts";
import { checkLlamaCppTuningFlags } from "./tuning-flags.ts";
import { estimateLlamaServerMemory, modelShape, type ModelShape } from "./memory.ts";
import { listEngineDevices } from "./engine-devices.ts";
import { loadedGgmlBackends } from "./loaded-backends.ts";
import { offloadReader, type OffloadReport } from "./offload-report.ts";
import { contextPadding } from "./slots.ts";
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

/** A llama-server ready to run, with what it finds on this machine. */
interface Engine {
  readonly server: LlamaServer;
  /** The GPU devices `--list-devices` found. */
  readonly devices: readonly string[];
  /** Offload every layer: a GPU device is there to take them. */
  readonly gpu: boolean;
}

/** One run of a runner: what it logged about its buffers, its process once spawned. */
interface Run {
  readonly report: () => OffloadReport | undefined;
  pid?: number;
  /** Its ggml backends were read from its mappings. */
  backendsRead?: boolean;
}

type InstallState =
  | { readonly phase: "not installed" }
  | { readonly phase: "installing"; readonly progress?: InstallProgress }
  | { readonly phase: "installed"; readonly engine: Engine }
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
   * Each running runner, by socket. Sockets are reused by later runners, so
   * a run removes only its own entry: an old run ending late leaves the new one's.
   */
  const runs = new Map<string, Run>();
  /** The last runner's buffers, kept for the status once it stopped. */
  let lastReport: OffloadReport | undefined;
  /** The ggml backends a runner mapped, last seen: which CPU variant, whether CUDA or Vulkan loaded. */
  let loadedBackends: string[] | undefined;
  /**
   * Backends are loaded before the model, so a running runner's mappings say
   * which; the last seen stays. Each runner's are read once they show (its
   * `/proc/<pid>/maps` is long), and never for a source build, which links
   * them in.
   */
  const backendsLoaded = ({ server }: Engine): string[] | undefined => {
    if (server.provisioning === "source") return undefined;
    for (const run of runs.values()) {
      if (run.pid === undefined || run.backendsRead) continue;
      const mapped = loadedGgmlBackends(run.pid);
      if (mapped.length) [loadedBackends, run.backendsRead] = [mapped, true];
    }
    return loadedBackends;
  };

  /**
   * Each caller resolves with its own signal: concurrent callers share one
   * build inside `ensureLlamaServer`, and one giving up does not fail the others.
   */
  async function server(signal: AbortSignal): Promise<Engine> {
    if (state.phase === "installed") return state.engine;
    state = { phase: "installing" };
    try {
      const onProgress = (progress: InstallProgress) => {
        if (state.phase === "installing") state = { phase: "installing", progress };
        options.onInstallProgress?.(progress);
      };
      const found = await resolveServer({ signal, onProgress });
      const devices = await listEngineDevices(found.path, runnerEnvironment(found), signal).catch((error: Error) => {
        logger.warn({ err: error, path: found.path }, "llama-server --list-devices failed; its devices are unknown");
        return [];
      });
      // A binary found elsewhere says by its devices whether it is a GPU build.
      const gpu = devices.length > 0 || (found.gpu && found.provisioning !== "path");
      logger.info({ path: found.path, provisioning: found.provisioning, variant: found.variant, commit: found.commit, devices }, "llama-server ready");
      const engine = { server: found, devices, gpu };
      state = { phase: "installed", engine };
      return engine;
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
      const engine = await server(signal);
      const located = await locateModel(model);
      const draft = config?.speculative ? await locateModel(config.speculative.draft_model) : undefined;
      // A file that is no GGUF is the engine's to name, as it fails to load.
      const shape = await shapeOf(located).catch(() => undefined);
      const args = llamaServerArguments({
        model: located,
        draft,
        socket,
        alias: modelRef,
        mode,
        config,
        gpu: engine.gpu,
        modelDeclaresPooling: shape?.declaresPooling,
        trainedContext: shape?.trainedContext,
      });
      const runner: EngineRunner = { model, modelRef, mode, socket };
      const offload = offloadReader();
      const current: Run = { report: offload.report };
      runs.set(socket, current);

      try {
        await runSocketEngine(signal, socket, {
          engine: "llama-server",
          logger: logger.child({ backend: llamaCppBackendName, model, modelRef, mode }),
          command: engine.server.path,
          args,
          env: runnerEnvironment(engine.server),
          stopGraceMs: options.stopGraceMs,
          diagnosis: diagnoseLlamaServerExit,
          onSpawn: (spawned) => {
            current.pid = spawned;
            options.onSpawn?.({ ...runner, pid: spawned });
          },
          outputBatchedAfter: (line) => modelLoadedLine.test(line),
          onStderrLine: (line) => {
            offload.read(line);
            options.onLog?.(line, runner);
          },
        });
      } finally {
        lastReport = offload.report() ?? lastReport;
        if (runs.get(socket) === current) runs.delete(socket);
      }
    },

    runnerMemory(socket) {
      return runs.get(socket)?.report()?.memory;
    },

    status() {
      switch (state.phase) {
        case "installed":
          return describeEngine(state.engine, backendsLoaded(state.engine), [...runs.values()].map((run) => run.report()).find(Boolean) ?? lastReport);
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

    async runContextSize(model, requested) {
      const { trainedContext } = await shapeOf(await locateModel(model));
      return Math.ceil(Math.min(requested, trainedContext) / contextPadding) * contextPadding;
    },

    async requiredMemoryForModel(signal, model, config): Promise<RequiredMemory> {
      // The first estimate waits for the engine's build (the GPU decides the
      // estimate), as long as its caller lets it.
      const engine = await server(signal);
      const located = await locateModel(model);
      const draft = config?.speculative ? await shapeOf(await locateModel(config.speculative.draft_model)) : undefined;
      return estimateLlamaServerMemory({
        model: await shapeOf(located),
        draft,
        contextSize: config?.["context-size"],
        runtimeFlags: config?.["runtime-flags"],
        gpu: engine.gpu,
      });
    },
  };
}

/** `… I srv  llama_server: model loaded`: its buffers by device are logged by then (see offload-report.ts). */
const modelLoadedLine = /\bsrv\s+\S+: model loaded$/;

async function shapeOf(located: LocatedModel): Promise<ModelShape> {
  return modelShape(located.summary ?? summarizeGGUF(await readGGUF(located.ggufPath)));
}

/**
 * `/engines/status`'s line: how the engine was provisioned, from which
 * commit, the ggml backends the last runner loaded (known once one loaded a
 * model), the GPU devices found, and where a runner put the model.
 *
 * @example "llama-server (prebuilt, llama.cpp de3ff81) at …/bin/llama-server; GPU devices: none; ggml backends loaded: libggml-cpu-icelake.so"
 */
function describeEngine({ server, devices }: Engine, backends: readonly string[] | undefined, report: OffloadReport | undefined): string {
  const origin = [server.provisioning, server.commit && `llama.cpp ${server.commit.slice(0, 7)}`].filter(Boolean).join(", ");
  const parts = [`llama-server (${origin}) at ${server.path}`, `GPU devices: ${devices.join(", ") || "none"}`];
  // A source build links its backends in statically: nothing to map.
  const loaded = server.provisioning === "source" ? "built into the binary" : backends?.join(", ") || "not known until a model loads";
  parts.push(`ggml backends loaded: ${loaded}`);
  if (report?.layers) parts.push(`last model: ${report.layers.offloaded}/${report.layers.total} layers offloaded`);
  return parts.join("; ");
}

/** The runner's environment: the gateway's (CUDA_VISIBLE_DEVICES, GGML_VK_VISIBLE_DEVICES… pass through) and what the engine needs. */
function runnerEnvironment(server: LlamaServer): NodeJS.ProcessEnv {
  return { ...engineEnvironment(process.env), ...server.env };
}

/**
 * The gateway's environment without `LLAMA_ARG_*`: llama-server reads those
 * as flags, and one left in the environment (`LLAMA_ARG_MODELS_DIR`,
 * `LLAMA_ARG_API_KEY`) would change what modelgate asked for.
 */
function engineEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([key]) => !key.startsWith("LLAMA_ARG_")));
}

