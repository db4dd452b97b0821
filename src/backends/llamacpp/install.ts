import { join } from "node:path";
import { ensureDirectory, exists } from "../../utilities/atomic-directory.ts";
import { findOnPath, isExecutableFile } from "../find-executable.ts";
import { sharedTasks } from "../../utilities/shared-task.ts";
import { buildLlamaServer, type InstallProgress } from "./build.ts";
import { detectGpuHost } from "./gpu-host.ts";
import { buildPrebuiltEngine, ensurePrebuiltPackage, planPrebuiltEngine } from "./prebuilt-engine.ts";
import { gpuHostLibraries, prebuiltVariant, selectPrebuiltPackages, type PrebuiltSelection } from "./prebuilt-packages.ts";
import { ensureLlamaCppSource, llamaCppCacheDir, llamaCppSource } from "./source.ts";
import { chooseVariant, cudaSetting } from "./variant.ts";

export { describeInstallProgress, type InstallProgress, type InstallStage } from "./build.ts";

/** How the engine came to be: compiled against npm's prebuilt libraries, built from source, or found (`LLAMA_SERVER_PATH`, `PATH`). */
export type Provisioning = "prebuilt" | "source" | "path";

/** A llama-server binary ready to run, and where it came from. */
export interface LlamaServer {
  readonly path: string;
  readonly provisioning: Provisioning;
  /** The cache directory name (`cpu`, `cuda`, `prebuilt-linux-x64+linux-x64-vulkan`); absent for a binary found elsewhere. */
  readonly variant?: string;
  /** The llama.cpp commit it was built from, when modelgate built it. */
  readonly commit?: string;
  /** True when it may run on a GPU: every layer is then offloaded unless the runtime flags say otherwise. */
  readonly gpu: boolean;
  /** Variables the runner needs besides the gateway's (`LD_LIBRARY_PATH` to a CUDA runtime). */
  readonly env: Readonly<Record<string, string>>;
}

export interface EnsureLlamaServerOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: InstallProgress) => void;
}

/** The cached engine of one variant: `<engine cache dir>/llama.cpp/<commit>/<variant>/bin/llama-server`. */
export function cachedLlamaServerPath(variant: string): string {
  return join(llamaCppCacheDir(), variant, "bin", "llama-server");
}

const sharedBuilds = sharedTasks<void, InstallProgress>();

/**
 * Finds llama-server, making it the first time: `LLAMA_SERVER_PATH`, then
 * `llama-server` on `PATH`, then a cached engine, then llama-server compiled
 * against the prebuilt llama.cpp libraries npm ships for this host (a few
 * minutes), and when that fails, loudly, a full build from source (about 10
 * minutes on 2 cores; CUDA with `nvcc` when `MODELGATE_LLAMA_CUDA=on`).
 * Concurrent callers, in this process or others, wait for the one build.
 */
export async function ensureLlamaServer(options: EnsureLlamaServerOptions = {}): Promise<LlamaServer> {
  const env = process.env;
  const { signal } = options;
  const emit = options.onProgress ?? (() => {});
  const fromEnv = env.LLAMA_SERVER_PATH;
  if (fromEnv) {
    if (!(await isExecutableFile(fromEnv))) throw new Error(`LLAMA_SERVER_PATH=${fromEnv} is not an executable file`);
    return foundServer(fromEnv);
  }
  const onPath = await findOnPath("llama-server", env);
  if (onPath) return foundServer(onPath);

  const cuda = cudaSetting(env);
  const sourceVariant = await chooseVariant(env, signal);
  // An explicit CUDA build from source (nvcc) or MODELGATE_LLAMA_BUILD=source skips the prebuilt libraries.
  const prebuilt = cuda !== "on" && buildSetting(env) === "auto" ? await choosePrebuilt(cuda !== "off", env, signal) : undefined;
  if (prebuilt) {
    for (const notice of prebuilt.notices) emit({ stage: "prebuilt", message: notice, warning: true });
  }
  const prebuiltServer = prebuilt?.packages.length ? prebuiltEngine(prebuilt) : undefined;
  if (prebuiltServer && (await exists(prebuiltServer.path))) return prebuiltServer;
  const sourceServer = sourceEngine(sourceVariant);
  if (await exists(sourceServer.path)) return sourceServer;

  if (prebuiltServer) {
    try {
      await provision(prebuiltServer, options, async (scratch, buildOptions) => {
        const contents = [];
        for (const name of prebuilt!.packages) contents.push(await ensurePrebuiltPackage(name, buildOptions));
        const source = await ensureLlamaCppSource({ signal: buildOptions.signal, onProgress: (message) => buildOptions.onProgress({ stage: "source", message }) });
        return buildPrebuiltEngine(source.dir, planPrebuiltEngine(contents), scratch, buildOptions);
      });
      return prebuiltServer;
    } catch (error) {
      if (signal?.aborted) throw error;
      emit({ stage: "prebuilt", warning: true, message: `llama-server on the prebuilt libraries failed, building all of llama.cpp from source instead (about 10 minutes on 2 cores): ${(error as Error).message}` });
    }
  }
  await provision(sourceServer, options, async (scratch, buildOptions) => {
    const source = await ensureLlamaCppSource({ signal: buildOptions.signal, onProgress: (message) => buildOptions.onProgress({ stage: "source", message }) });
    return buildLlamaServer(source.dir, sourceVariant, scratch, buildOptions);
  });
  return sourceServer;
}

/** `MODELGATE_LLAMA_BUILD` = `auto` (default: prebuilt libraries, source as the fallback) | `source`. */
function buildSetting(env: NodeJS.ProcessEnv): "auto" | "source" {
  const setting = (env.MODELGATE_LLAMA_BUILD ?? "auto").toLowerCase();
  if (setting === "auto" || setting === "source") return setting;
  throw new Error(`MODELGATE_LLAMA_BUILD must be auto or source, not ${JSON.stringify(env.MODELGATE_LLAMA_BUILD)}`);
}

async function choosePrebuilt(cuda: boolean, env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<PrebuiltSelection> {
  return selectPrebuiltPackages(await detectGpuHost(gpuHostLibraries, env, signal), { cuda });
}

function prebuiltEngine(selection: PrebuiltSelection): LlamaServer {
  const variant = prebuiltVariant(selection.packages);
  const gpu = selection.packages.length > 1;
  const env: Record<string, string> = {};
  if (selection.libraryPath.length) env.LD_LIBRARY_PATH = [...selection.libraryPath, process.env.LD_LIBRARY_PATH].filter(Boolean).join(":");
  return { path: cachedLlamaServerPath(variant), provisioning: "prebuilt", variant, commit: llamaCppSource.commit, gpu, env };
}

function sourceEngine(variant: "cpu" | "cuda"): LlamaServer {
  return { path: cachedLlamaServerPath(variant), provisioning: "source", variant, commit: llamaCppSource.commit, gpu: variant === "cuda", env: {} };
}

/** A binary modelgate did not build: whether it is a GPU build shows in the devices it lists. */
async function foundServer(path: string): Promise<LlamaServer> {
  return { path, provisioning: "path", gpu: true, env: {} };
}

type Produce = (scratch: string, options: { signal: AbortSignal; onProgress: (progress: InstallProgress) => void }) => Promise<string>;

/** Makes `server`'s variant directory once across callers and processes. */
async function provision(server: LlamaServer, options: EnsureLlamaServerOptions, produce: Produce): Promise<void> {
  const installDir = join(llamaCppCacheDir(), server.variant!);
  await sharedBuilds(
    installDir,
    async (signal, emit) => {
      await ensureDirectory(installDir, (scratch) => produce(scratch, { signal, onProgress: emit }), {
        signal,
        onWait: (pid) => emit({ stage: "build", message: `waiting for process ${pid}, which is building llama-server (${server.variant})` }),
      });
    },
    options,
  );
}
