import { join } from "node:path";
import { ensureDirectory, exists } from "../atomic-directory.ts";
import { findOnPath, isExecutableFile } from "../find-executable.ts";
import { runCommand } from "../run-command.ts";
import { sharedTasks } from "../shared-task.ts";
import { buildLlamaServer, type InstallProgress } from "./build.ts";
import { ensureLlamaCppSource, llamaCppCacheDir } from "./source.ts";
import { chooseVariant, type LlamaCppVariant } from "./variant.ts";

export { describeInstallProgress, type InstallProgress, type InstallStage } from "./build.ts";

/** A llama-server binary ready to run, and where it came from. */
export interface LlamaServer {
  readonly path: string;
  readonly variant: LlamaCppVariant;
  readonly source: "env" | "path" | "cache" | "built";
}

export interface EnsureLlamaServerOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: InstallProgress) => void;
}

/** The cached build of one variant: `<engine cache dir>/llama.cpp/<commit>/<variant>/bin/llama-server`. */
export function cachedLlamaServerPath(variant: LlamaCppVariant): string {
  return join(llamaCppCacheDir(), variant, "bin", "llama-server");
}

const sharedBuilds = sharedTasks<void, InstallProgress>();

/**
 * Finds llama-server, building it the first time: `LLAMA_SERVER_PATH`, then
 * `llama-server` on `PATH`, then the cached build, then a build from source
 * (about 10 minutes on 2 cores; concurrent callers, in this process or
 * others, wait for the one build).
 */
export async function ensureLlamaServer(options: EnsureLlamaServerOptions = {}): Promise<LlamaServer> {
  const env = process.env;
  const fromEnv = env.LLAMA_SERVER_PATH;
  if (fromEnv) {
    if (!(await isExecutableFile(fromEnv))) throw new Error(`LLAMA_SERVER_PATH=${fromEnv} is not an executable file`);
    return { path: fromEnv, variant: await probeVariant(fromEnv, options.signal), source: "env" };
  }
  const onPath = await findOnPath("llama-server", env);
  if (onPath) return { path: onPath, variant: await probeVariant(onPath, options.signal), source: "path" };

  const variant = await chooseVariant(env, options.signal);
  const path = cachedLlamaServerPath(variant);
  if (await exists(path)) return { path, variant, source: "cache" };

  const installDir = join(llamaCppCacheDir(), variant);
  await sharedBuilds(
    installDir,
    async (signal, emit) => {
      const source = await ensureLlamaCppSource({ signal, onProgress: (message) => emit({ stage: "source", message }) });
      await ensureDirectory(installDir, (scratch) => buildLlamaServer(source.dir, variant, scratch, { signal, onProgress: emit }), {
        signal,
        onWait: (pid) => emit({ stage: "build", message: `waiting for process ${pid}, which is building llama-server (${variant})` }),
      });
    },
    options,
  );
  return { path, variant, source: "built" };
}

/**
 * What a binary found elsewhere was built for: a CUDA build lists CUDA
 * devices (and only when a GPU is visible, which is what matters to us).
 */
async function probeVariant(binary: string, signal?: AbortSignal): Promise<LlamaCppVariant> {
  const devices = await runCommand(binary, ["--list-devices"], { signal }).catch(() => "");
  return /\bCUDA\d+\b/.test(devices) ? "cuda" : "cpu";
}
