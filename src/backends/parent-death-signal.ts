import { findOnPath } from "./find-executable.ts";

let setpriv: Promise<string | undefined> | undefined;

/**
 * Wraps a command so the kernel kills it when the gateway dies, even by
 * `kill -9`, which no exit handler sees: util-linux's `setpriv` sets
 * PR_SET_PDEATHSIG and then execs the command in place (same pid). Node
 * spawns from its main thread, whose death is what the kernel watches.
 * Without setpriv (not Linux, or no util-linux) the command runs unwrapped
 * and `protected` says so.
 */
export async function withParentDeathSignal(command: string, args: readonly string[]): Promise<{ command: string; args: string[]; protected: boolean }> {
  setpriv ??= process.platform === "linux" ? findOnPath("setpriv") : Promise.resolve(undefined);
  const wrapper = await setpriv;
  if (!wrapper) return { command, args: [...args], protected: false };
  return { command: wrapper, args: ["--pdeathsig", "KILL", "--", command, ...args], protected: true };
}
