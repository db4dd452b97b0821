import { findOnPath, isExecutableFile } from "../find-executable.ts";
import { runCommand } from "../run-command.ts";
import { parseVllmVersion, type VllmVersion } from "./version.ts";

/** How to start vLLM's CLI: a program, and the arguments that come before `serve`. */
export interface VllmCommand {
  readonly command: string;
  readonly prefix: readonly string[];
  readonly source: "env" | "path" | "python";
}

/** A located vLLM and its release, read once from `vllm --version`. */
export interface InstalledVllm extends VllmCommand {
  readonly version: VllmVersion;
}

/** vLLM is nowhere to be found; the message says how to get it. */
export class VllmNotInstalledError extends Error {
  override readonly name = "VllmNotInstalledError";
  constructor() {
    super("vLLM is not installed: install it with `pip install vllm` (Linux with an NVIDIA GPU), or set VLLM_SERVER_PATH to its `vllm` executable");
  }
}

/** Asks Python whether the package is importable without importing it (that takes seconds: torch). */
const findSpec = "import importlib.util, sys; sys.exit(0 if importlib.util.find_spec('vllm') else 1)";

/**
 * Finds vLLM: `VLLM_SERVER_PATH`, then `vllm` on `PATH`, then `python3 -m
 * vllm.entrypoints.cli.main` when `python3` can import the package. Never
 * installs it: that takes a GPU machine and a Python registry.
 *
 * @throws VllmNotInstalledError, or an Error when VLLM_SERVER_PATH names no executable
 */
export async function locateVllm(env: NodeJS.ProcessEnv = process.env, signal?: AbortSignal): Promise<VllmCommand> {
  const fromEnv = env.VLLM_SERVER_PATH;
  if (fromEnv) {
    if (!(await isExecutableFile(fromEnv))) throw new Error(`VLLM_SERVER_PATH=${fromEnv} is not an executable file`);
    return { command: fromEnv, prefix: [], source: "env" };
  }
  const onPath = await findOnPath("vllm", env);
  if (onPath) return { command: onPath, prefix: [], source: "path" };
  const python = await findOnPath("python3", env);
  if (python && (await runCommand(python, ["-c", findSpec], { signal, env }).then(() => true, () => false))) {
    return { command: python, prefix: ["-m", "vllm.entrypoints.cli.main"], source: "python" };
  }
  throw new VllmNotInstalledError();
}

/**
 * Asks the located vLLM its release (`vllm --version`, which imports little).
 *
 * @throws CommandFailedError when it does not run, Error when it prints no version
 */
export async function readVllmVersion(vllm: VllmCommand, signal?: AbortSignal): Promise<VllmVersion> {
  return parseVllmVersion(await runCommand(vllm.command, [...vllm.prefix, "--version"], { ...(signal ? { signal } : {}) }));
}
