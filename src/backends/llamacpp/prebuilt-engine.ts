import { copyFile, link, mkdir, readdir, rename } from "node:fs/promises";
import { basename, join, relative } from "node:path";
import { installDirectory } from "../../utilities/install-directory.ts";
import { ensureDirectory } from "../../utilities/atomic-directory.ts";
import { runCommand } from "../run-command.ts";
import { compileLlamaServer, type BuildOptions } from "./build.ts";
import { packVerified } from "./npm-package.ts";
import { prebuiltPackages, type PrebuiltPackageName } from "./prebuilt-packages.ts";
import { llamaCppCacheDir } from "./source.ts";

/** One prebuilt package, unpacked: its root and every file in it, relative to the root. */
export interface PackageContents {
  readonly name: PrebuiltPackageName;
  readonly root: string;
  readonly files: readonly string[];
}

/** How an engine is made of prebuilt packages. */
export interface PrebuiltEnginePlan {
  /** Where the base package's libraries are: llama-server is linked against them. */
  readonly libraryDir: string;
  /** The versioned ggml and llama libraries' file names (`libggml.v0.5.0.so`). */
  readonly ggml: string;
  readonly llama: string;
  /** Every library to put beside llama-server: the base's, and each GPU package's backend. */
  readonly beside: ReadonlyArray<{ readonly from: string; readonly name: string }>;
  /** The ggml backends that may load, by name: `cpu-haswell`, `cuda`, `vulkan`. */
  readonly backends: readonly string[];
}

const versionedGgml = /^libggml\.v[\d.]+\.so$/;
const versionedLlama = /^libllama\.v[\d.]+\.so$/;
const backendLibrary = /^libggml-([a-z0-9_-]+)\.so$/;

/**
 * Decides from the packages' real contents what the engine is made of. The
 * base package (first) gives ggml, llama, llama-common and a CPU backend per
 * x86 generation; a GPU package gives only its own backend (`libggml-cuda.so`,
 * `libggml-vulkan.so`), which needs nothing of its package but
 * `libggml-base.so`, the same file in every package.
 *
 * @throws Error when a package lacks what its role needs
 */
export function planPrebuiltEngine(contents: readonly PackageContents[]): PrebuiltEnginePlan {
  const [base, ...gpus] = contents;
  if (!base) throw new Error("no prebuilt package to build on");
  const baseLibraries = base.files.filter((file) => file.startsWith("bins/") && file.split("/").length === 3 && file.endsWith(".so"));
  const names = baseLibraries.map((file) => basename(file));
  const ggml = names.find((name) => versionedGgml.test(name));
  const llama = names.find((name) => versionedLlama.test(name));
  const cpuBackends = names.filter((name) => name.startsWith("libggml-cpu-"));
  for (const [what, present] of [["libggml.v*.so", ggml], ["libllama.v*.so", llama], ["libggml-base.so", names.includes("libggml-base.so")], ["libllama-common.so", names.includes("libllama-common.so")], ["libggml-cpu-*.so", cpuBackends.length > 0]] as const) {
    if (!present) throw new Error(`${prebuiltPackages[base.name].spec} holds no ${what}`);
  }
  const libraryDir = join(base.root, baseLibraries[0]!.split("/").slice(0, 2).join("/"));
  const beside = baseLibraries.map((file) => ({ from: join(base.root, file), name: basename(file) }));
  const backends = cpuBackends.map((name) => backendLibrary.exec(name)![1]!);

  for (const gpu of gpus) {
    const found = gpu.files.filter((file) => {
      const backend = backendLibrary.exec(basename(file))?.[1];
      return backend !== undefined && backend !== "base" && !backend.startsWith("cpu");
    });
    if (found.length !== 1) throw new Error(`${prebuiltPackages[gpu.name].spec} holds ${found.length} GPU backends, not one: ${found.join(", ")}`);
    const name = basename(found[0]!);
    beside.push({ from: join(gpu.root, found[0]!), name });
    backends.push(backendLibrary.exec(name)![1]!);
  }
  return { libraryDir, ggml: ggml!, llama: llama!, beside, backends };
}

/** `<engine cache dir>/llama.cpp/<commit>/packages/<name>`: one unpacked prebuilt package. */
export function prebuiltPackageDir(name: PrebuiltPackageName): string {
  return join(llamaCppCacheDir(), "packages", name);
}

/**
 * Fetches, checks and unpacks one prebuilt package into the cache (once
 * across processes), and lists its files.
 */
export async function ensurePrebuiltPackage(name: PrebuiltPackageName, options: BuildOptions): Promise<PackageContents> {
  const root = prebuiltPackageDir(name);
  const pinned = prebuiltPackages[name];
  await ensureDirectory(
    root,
    async (scratch) => {
      options.onProgress({ stage: "prebuilt", message: `downloading ${pinned.spec}` });
      const tarball = await packVerified(pinned, scratch, options.signal);
      options.onProgress({ stage: "prebuilt", message: `unpacking ${pinned.spec}` });
      await runCommand("tar", ["-xzf", tarball, "-C", scratch], { signal: options.signal });
      return join(scratch, "package");
    },
    { signal: options.signal, onWait: (pid) => options.onProgress({ stage: "prebuilt", message: `waiting for process ${pid}, which is fetching ${pinned.spec}` }) },
  );
  return { name, root, files: await listFiles(root) };
}

async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => relative(root, join(entry.parentPath, entry.name))).sort();
}

/** The parent CMake project that imports the prebuilt libraries (in this installation: not code, so never in dist/). */
const serverProject = join(installDirectory, "src/backends/llamacpp/prebuilt-server");

/**
 * cmake's configure arguments for llama-server on the prebuilt libraries: an
 * offline Release build of the server, mtmd and cpp-httplib only.
 */
export function prebuiltConfigureArguments(sourceDir: string, buildDir: string, plan: PrebuiltEnginePlan): string[] {
  return [
    "-S", serverProject,
    "-B", buildDir,
    "-DCMAKE_BUILD_TYPE=Release",
    `-DLLAMA_SOURCE_DIR=${sourceDir}`,
    `-DPREBUILT_LIBRARY_DIR=${plan.libraryDir}`,
    `-DPREBUILT_GGML=${plan.ggml}`,
    `-DPREBUILT_LLAMA=${plan.llama}`,
  ];
}

/**
 * Compiles llama-server against the plan's libraries in `scratch` and lays
 * out the engine: `bin/llama-server` and every library of the plan beside it,
 * where ggml looks for its backends. Checked to run before it is returned.
 */
export async function buildPrebuiltEngine(sourceDir: string, plan: PrebuiltEnginePlan, scratch: string, options: BuildOptions): Promise<string> {
  const buildDir = join(scratch, "build");
  await compileLlamaServer(prebuiltConfigureArguments(sourceDir, buildDir, plan), buildDir, "server only, on the prebuilt libraries", options);
  const bin = join(scratch, "output", "bin");
  await mkdir(bin, { recursive: true });
  await rename(join(buildDir, "bin", "llama-server"), join(bin, "llama-server"));
  // Hard links spare a second copy of a 160 MB CUDA backend; a copy where the cache spans file systems.
  await Promise.all(plan.beside.map(({ from, name }) => link(from, join(bin, name)).catch(() => copyFile(from, join(bin, name)))));
  options.onProgress({ stage: "verify", message: "checking that the new llama-server runs" });
  await runCommand(join(bin, "llama-server"), ["--version"], { signal: options.signal });
  return join(scratch, "output");
}
