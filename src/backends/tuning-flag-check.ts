import { InvalidConfigurationError } from "../inference/index.ts";

/** A value such as `-1` or `-0.5` is not a flag. */
const negativeNumber = /^-\d|^-\.\d/;

/**
 * A check that refuses any runtime flag outside an engine's allow-list of
 * tuning flags. An allow-list rather than a deny-list because every engine
 * release adds flags, and some would hand a chat request the host; an unknown
 * flag is refused until someone has looked at it. Values (anything not
 * starting with `-`, and negative numbers) pass; `validateRuntimeFlags` has
 * already refused paths and control characters.
 *
 * @example const check = tuningFlagCheck("vLLM", new Set(["--max-num-seqs"])); check(["--max-num-seqs", "8"]);
 */
export function tuningFlagCheck(engine: string, allowed: ReadonlySet<string>): (flags: readonly string[]) => void {
  return (flags) => {
    for (const flag of flags) {
      if (!flag.startsWith("-") || negativeNumber.test(flag)) continue;
      const name = flag.split("=", 1)[0] ?? flag;
      if (!allowed.has(name)) {
        throw new InvalidConfigurationError(`runtime flag ${name} is not allowed for ${engine} (only performance and sampling flags are)`);
      }
    }
  };
}
