/**
 * What every subcommand shares: its help, argument parsing that turns
 * mistakes into usage errors, and the exit codes (0 success, 1 failure,
 * 2 usage).
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

export interface Command {
  /** One line for `modelgate --help`. */
  readonly summary: string;
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
