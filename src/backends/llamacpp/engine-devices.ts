import { runCommand } from "../run-command.ts";

/** What a llama-server binary finds on this machine: the ggml backends that loaded and the devices they drive. */
export interface EngineDevices {
  /** `CPU (libggml-cpu-haswell.so)`, `CUDA (libggml-cuda.so)`: from ggml's own log. */
  readonly backends: readonly string[];
  /** `CUDA0: NVIDIA H100 80GB HBM3 (81079 MiB, 80484 MiB free)`; none on a CPU-only machine. */
  readonly devices: readonly string[];
}

const loadedBackend = /load_backend: loaded (\S+) backend from (\S+)/;
const deviceLine = /^ {2}(\S+: .*)$/;

/**
 * Reads `llama-server --list-devices`: the devices on stdout, and ggml's
 * `load_backend: loaded …` lines on stderr.
 */
export function parseDeviceListing(lines: readonly string[]): EngineDevices {
  const backends = new Set<string>();
  const devices: string[] = [];
  let listing = false;
  for (const line of lines) {
    const loaded = loadedBackend.exec(line);
    if (loaded) backends.add(`${loaded[1]} (${loaded[2]!.split("/").pop()})`);
    if (line.startsWith("Available devices:")) listing = true;
    else if (listing && deviceLine.test(line)) devices.push(line.trim());
  }
  return { backends: [...backends], devices };
}

/** Runs `binary --list-devices` in the runner's environment. */
export async function listEngineDevices(binary: string, env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<EngineDevices> {
  const lines: string[] = [];
  await runCommand(binary, ["--list-devices"], { env, signal, onLine: (line) => lines.push(line) });
  return parseDeviceListing(lines);
}
