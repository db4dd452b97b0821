import { readdir, realpath } from "node:fs/promises";
import { homedir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { exists } from "../../utilities/atomic-directory.ts";
import { findOnPath } from "../find-executable.ts";
import { runCommand } from "../run-command.ts";

/**
 * Where shared libraries a GPU backend needs may be, in the order they are
 * tried: `LD_LIBRARY_PATH`, Python environments' `nvidia-*` wheels (what
 * vLLM and PyTorch install: `nvidia/cu13/lib`, `nvidia/cublas/lib`, …), the
 * CUDA toolkit, then the system's linker cache.
 */
export async function librarySearchDirs(env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const dirs = [
    ...(env.LD_LIBRARY_PATH ?? "").split(delimiter).filter(Boolean),
    ...(await nvidiaWheelDirs(env)),
    ...(await cudaToolkitDirs(env)),
    ...(await linkerCacheDirs()),
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib64",
    "/usr/lib",
  ];
  return [...new Set(dirs)];
}

/** The directory of `dirs` that holds `file`, if any. */
export async function findLibrary(file: string, dirs: readonly string[]): Promise<string | undefined> {
  for (const dir of dirs) if (await exists(join(dir, file))) return dir;
  return undefined;
}

async function nvidiaWheelDirs(env: NodeJS.ProcessEnv): Promise<string[]> {
  const prefixes = [env.VIRTUAL_ENV, env.CONDA_PREFIX, join(homedir(), ".local"), "/usr/local", "/usr"];
  // The environment vLLM runs in, when it is on PATH (a venv's bin/vllm).
  const vllm = await findOnPath("vllm", env);
  if (vllm) prefixes.unshift(dirname(dirname(await realpath(vllm).catch(() => vllm))));
  const dirs: string[] = [];
  for (const prefix of prefixes) {
    if (!prefix) continue;
    for (const sitePackages of await sitePackagesDirs(prefix)) {
      const nvidia = join(sitePackages, "nvidia");
      for (const name of await listDir(nvidia)) dirs.push(join(nvidia, name, "lib"));
    }
  }
  return dirs;
}

async function sitePackagesDirs(prefix: string): Promise<string[]> {
  const lib = join(prefix, "lib");
  const dirs: string[] = [];
  for (const python of (await listDir(lib)).filter((name) => name.startsWith("python3"))) {
    dirs.push(join(lib, python, "site-packages"), join(lib, python, "dist-packages"));
  }
  return dirs;
}

async function cudaToolkitDirs(env: NodeJS.ProcessEnv): Promise<string[]> {
  const roots = [env.CUDA_HOME, env.CUDA_PATH, "/usr/local/cuda", "/opt/cuda"];
  for (const name of (await listDir("/usr/local")).filter((entry) => entry.startsWith("cuda-")).sort().reverse()) {
    roots.push(join("/usr/local", name));
  }
  return roots.filter((root): root is string => !!root).flatMap((root) => [join(root, "lib64"), join(root, "lib"), join(root, "targets", "x86_64-linux", "lib")]);
}

/** Directories of the libraries `ldconfig -p` lists: where the dynamic linker looks anyway. */
async function linkerCacheDirs(): Promise<string[]> {
  const listing = await runCommand("ldconfig", ["-p"]).catch(() => runCommand("/sbin/ldconfig", ["-p"]).catch(() => ""));
  return [...listing.matchAll(/=> (\/\S+)\/[^/\s]+$/gm)].map((match) => match[1]!);
}

async function listDir(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}
