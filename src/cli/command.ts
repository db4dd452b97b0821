/**
 * What every subcommand shares: its help, argument parsing that turns
 * mistakes into usage errors, and the exit codes (0 success, 1 failure,
 * 2 usage).
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

export interface Command {
  /** Printed for `--help` (exit 0) and after a usage error (exit 2). */
  readonly help: string;
  run(args: string[]): Promise<void>;
}

/** The command line was wrong, not the work: exit 2 with the command's help. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/**
 * `parseArgs`, strict, positionals allowed, with its complaints (unknown
 * option, missing value) as usage errors.
 */
export function parseCommandArgs<const Options extends NonNullable<ParseArgsConfig["options"]>>(args: string[], options: Options) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/**
 * The required positionals, named for the message when one is missing;
 * beyond them, `optional` more may follow (read them from `positionals`).
 *
 * @example const [source, destination] = expectPositionals(positionals, ["SOURCE", "DESTINATION"]);
 * @throws UsageError naming what is missing or extra
 */
export function expectPositionals<const Names extends readonly string[]>(
  positionals: readonly string[],
  names: Names,
  optional = 0,
): { readonly [K in keyof Names]: string } {
  const missing = names.slice(positionals.length);
  if (missing.length > 0) throw new UsageError(`${missing.join(" and ")} ${missing.length === 1 ? "is" : "are"} required`);
  const extra = positionals[names.length + optional];
  if (extra !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(extra)}`);
  return positionals.slice(0, names.length) as unknown as { readonly [K in keyof Names]: string };
}

/** Runs `command` and exits with its code; `--help` anywhere before `--` prints its help instead. */
export async function runCommand(name: string, command: Command, args: string[]): Promise<void> {
  const flags = args.includes("--") ? args.slice(0, args.indexOf("--")) : args;
  if (flags.includes("--help") || flags.includes("-h")) {
    console.log(command.help);
    return;
  }
  try {
    await command.run(args);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`modelgate ${name}: ${error.message}\n\n${command.help}`);
      process.exit(2);
    }
    console.error(`modelgate ${name}: ${(error as Error).message}`);
    process.exit(1);
  }
}
