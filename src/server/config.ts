import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { parseListenAddress, type ListenAddress } from "./listen-address.ts";

/** The gateway's settings, read once at start from the environment and the command line. */
export interface Config {
  readonly listen: ListenAddress;
  /** Data directory: model store, runner sockets, logs. */
  readonly home: string;
  readonly logLevel: string;
}

export interface ConfigOverrides {
  readonly host?: string;
}

type Environment = Readonly<Record<string, string | undefined>>;

/**
 * Reads the configuration. `MODELGATE_*` wins over the `OLLAMA_*` equivalent,
 * which is honoured so an existing Ollama setup carries over.
 */
export function loadConfig(env: Environment = process.env, overrides: ConfigOverrides = {}): Config {
  const host = overrides.host ?? env.MODELGATE_HOST ?? env.OLLAMA_HOST ?? "";
  return {
    listen: parseListenAddress(host),
    home: resolve(env.MODELGATE_HOME || join(homedir(), ".modelgate")),
    logLevel: env.MODELGATE_LOG_LEVEL || "info",
  };
}
