import { runCommand } from "../run-command.ts";

const deviceLine = /^ {2}(\S+: .*)$/;

/**
 * The GPU devices in `llama-server --list-devices`' listing:
 * `CUDA0: NVIDIA H100 80GB HBM3 (81079 MiB, 80484 MiB free)`; none on a
 * CPU-only machine (`(none)`).
 */
export function parseDeviceListing(stdout: string): string[] {
  const [, listing = ""] = stdout.split(/^Available devices:$/m);
  return listing.split("\n").filter((line) => deviceLine.test(line)).map((line) => line.trim());
}

/** Runs `binary --list-devices` in the runner's environment. */
export async function listEngineDevices(binary: string, env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<string[]> {
  return parseDeviceListing(await runCommand(binary, ["--list-devices"], { env, signal }));
}
