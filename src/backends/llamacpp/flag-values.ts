/** llama-server's names for "layers of the model in VRAM". */
export const gpuLayersFlags = ["-ngl", "--gpu-layers", "--n-gpu-layers"] as const;
/** The same for the draft model of speculative decoding. */
export const draftGpuLayersFlags = ["--spec-draft-ngl", "-ngld", "--gpu-layers-draft", "--n-gpu-layers-draft"] as const;

/** Whether any of `names` is among the flags, as `--flag value` or `--flag=value`. */
export function hasFlag(flags: readonly string[], names: readonly string[]): boolean {
  return flags.some((flag) => names.includes(flag.split("=", 1)[0] ?? flag));
}

/** The value of the last occurrence of any of `names` (`-c 512` or `--ctx-size=512`): the one llama-server keeps. */
export function lastFlagValue(flags: readonly string[], names: readonly string[]): string | undefined {
  let found: string | undefined;
  flags.forEach((flag, index) => {
    const [name, inline] = flag.split(/=(.*)/s, 2);
    if (name !== undefined && names.includes(name)) found = inline ?? flags[index + 1];
  });
  return found;
}

/** {@link lastFlagValue} as an integer; undefined when absent or not one. */
export function lastIntegerFlag(flags: readonly string[], names: readonly string[]): number | undefined {
  const value = Number.parseInt(lastFlagValue(flags, names) ?? "", 10);
  return Number.isSafeInteger(value) ? value : undefined;
}

/**
 * The state the last of a switch's names leaves: true for one of `on`
 * (`-kvu`), false for one of `off` (`--no-kv-unified`), undefined when absent.
 */
export function lastSwitch(flags: readonly string[], on: readonly string[], off: readonly string[]): boolean | undefined {
  let state: boolean | undefined;
  for (const flag of flags) {
    if (on.includes(flag)) state = true;
    else if (off.includes(flag)) state = false;
  }
  return state;
}
