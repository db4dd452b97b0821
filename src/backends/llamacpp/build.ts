import { copyFile, mkdir } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { runCommand } from "../run-command.ts";
import { parseCMakeProgress } from "./cmake-progress.ts";
import { findNvcc, nvidiaGpuVisible, type LlamaCppVariant } from "./variant.ts";

export type InstallStage = "prebuilt" | "source" | "configure" | "build" | "verify";

/** One step of getting an engine ready, for the caller to render (a bar on a TTY, a log line elsewhere). */
export interface InstallProgress {
  readonly stage: InstallStage;
  /** 0–100 during the compile stage. */
  readonly percent?: number;
  readonly message: string;
  /** Something the user should act on: a GPU left unused, a fallback to the source build. */
  readonly warning?: boolean;
}

/** `llama-server build 42%: compiling …`: one progress report as a log line. */
export function describeInstallProgress({ stage, percent, message }: InstallProgress): string {
  return `llama-server ${stage}${percent === undefined ? "" : ` ${percent}%`}: ${message}`;
}

/** How to compile for CUDA: the compiler, and whether to target only the GPUs present. */
export interface CudaToolchain {
  readonly nvcc: string;
  readonly nativeArchitectures: boolean;
}

/**
 * cmake's configure arguments: a static, offline, server-only Release build.
 * The prebuilt web UI would be downloaded at build time, so it is off.
 */
export function cmakeConfigureArguments(sourceDir: string, buildDir: string, cuda?: CudaToolchain): string[] {
  const args = [
    "-S", sourceDir,
    "-B", buildDir,
    "-DCMAKE_BUILD_TYPE=Release",
    "-DLLAMA_CURL=OFF",
    "-DLLAMA_OPENSSL=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DBUILD_SHARED_LIBS=OFF",
  ];
  if (cuda) {
    args.push("-DGGML_CUDA=ON", `-DCMAKE_CUDA_COMPILER=${cuda.nvcc}`);
    // Compiling for every architecture ggml supports takes several times longer.
    if (cuda.nativeArchitectures) args.push("-DCMAKE_CUDA_ARCHITECTURES=native");
  }
  return args;
}

export interface BuildOptions {
  readonly signal: AbortSignal;
  readonly onProgress: (progress: InstallProgress) => void;
}

/**
 * Builds llama-server from `sourceDir` inside `scratch` and returns a
 * directory holding only `bin/llama-server`, checked to run. The caller moves
 * it into the cache.
 */
export async function buildLlamaServer(sourceDir: string, variant: LlamaCppVariant, scratch: string, options: BuildOptions): Promise<string> {
  const buildDir = join(scratch, "build");
  const cuda = variant === "cuda" ? await cudaToolchain(options.signal) : undefined;
  await compileLlamaServer(cmakeConfigureArguments(sourceDir, buildDir, cuda), buildDir, variant, options);

  const output = join(scratch, "output");
  const binary = join(output, "bin", "llama-server");
  await mkdir(join(output, "bin"), { recursive: true });
  await copyFile(join(buildDir, "bin", "llama-server"), binary);
  options.onProgress({ stage: "verify", message: "checking that the new llama-server runs" });
  await runCommand(binary, ["--version"], { signal: options.signal });
  return output;
}

/** Configures and compiles the `llama-server` target into `<buildDir>/bin`, reporting cmake's progress. */
export async function compileLlamaServer(configureArgs: readonly string[], buildDir: string, label: string, options: BuildOptions): Promise<void> {
  const { signal, onProgress } = options;
  onProgress({ stage: "configure", message: `configuring llama.cpp (${label})` });
  await runCommand("cmake", configureArgs, { signal });

  const jobs = availableParallelism();
  onProgress({ stage: "build", percent: 0, message: `compiling llama-server (${label}) with ${jobs} jobs` });
  let lastPercent = 0;
  await runCommand("cmake", ["--build", buildDir, "--target", "llama-server", "-j", String(jobs)], {
    signal,
    onLine: (line) => {
      const progress = parseCMakeProgress(line);
      if (!progress || progress.percent === lastPercent) return;
      lastPercent = progress.percent;
      onProgress({ stage: "build", percent: progress.percent, message: progress.message });
    },
  });
}

async function cudaToolchain(signal: AbortSignal): Promise<CudaToolchain> {
  const nvcc = await findNvcc();
  if (!nvcc) throw new Error("a CUDA build of llama-server was asked for (MODELGATE_LLAMA_CUDA=on) but nvcc was not found");
  return { nvcc, nativeArchitectures: await nvidiaGpuVisible(signal) };
}
