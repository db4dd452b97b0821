import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { parseKeepAlive } from "../inference/keep-alive.ts";
import { apiKeyPattern } from "./api-key-auth.ts";
import { parseListenAddress, type ListenAddress } from "./listen-address.ts";
import type { LogFormat } from "./logger.ts";
import { originsFromEnvironment } from "./origin-check.ts";

/** The gateway's settings, read once at start from the environment and the command line. */
export interface Config {
  readonly listen: ListenAddress;
  /** Data directory: model store, runner sockets, logs. */
  readonly home: string;
  readonly logLevel: string;
  /** Unset: human-readable on a terminal, JSON lines otherwise. */
  readonly logFormat?: LogFormat;
  /** How long an idle runner stays loaded: ms, 0 = unload once idle, negative = forever. */
  readonly keepAliveMs: number;
  /** Cap on runners loaded at once; undefined = bounded by memory only. */
  readonly maxLoadedModels?: number;
  /** Context of a runner whose request and model set none (`num_ctx`); undefined = the engine's default. */
  readonly contextLength?: number;
  /** Requests allowed to wait for a busy runner before 503s. */
  readonly maxQueue?: number;
  /** How long a runner may load without a word on its log before it is killed; undefined = the loader's default. */
  readonly loadTimeoutMs?: number;
  /** On SIGTERM/SIGINT, how long responses in flight may take to finish. */
  readonly shutdownGraceMs: number;
  /** When set, clients must send `Authorization: Bearer <apiKey>`. */
  readonly apiKey?: string;
  /** Largest request body accepted (blob uploads aside); images travel inline, so generous. */
  readonly maxBodyBytes: number;
  /** Bytes of request bodies all requests may hold at once (blob uploads aside); past it, 503. */
  readonly maxBufferedBytes: number;
  /** A request body that brings no byte for this long is cut with a 408; 0 never. */
  readonly bodyIdleTimeoutMs: number;
  /** A response the client takes no byte of for this long is cut, its engine request cancelled; 0 never. */
  readonly sendIdleTimeoutMs: number;
  /** Responses API: how many responses are kept for `GET` and `previous_response_id` (0 keeps none). */
  readonly responsesMaxStored: number;
  /** Responses API: how long a stored response is kept, in ms. */
  readonly responsesMaxAgeMs: number;
  /** Web origins allowed besides the local ones: `MODELGATE_ORIGINS` and `OLLAMA_ORIGINS`. */
  readonly origins: readonly string[];
  /** `Host` names served besides the local ones: `MODELGATE_ALLOWED_HOSTS`. */
  readonly allowedHosts?: readonly string[];
  /** When set, the only hosts pulls and pushes may contact: `MODELGATE_ALLOWED_REGISTRIES`. */
  readonly allowedRegistries?: readonly string[];
}

export interface ConfigOverrides {
  readonly host?: string;
}

type Environment = Readonly<Record<string, string | undefined>>;

/**
 * Reads the configuration. `MODELGATE_*` wins over the `OLLAMA_*` equivalent,
 * which is honoured so an existing Ollama setup carries over.
 *
 * @throws Error naming the variable when a value is malformed
 */
export function loadConfig(env: Environment = process.env, overrides: ConfigOverrides = {}): Config {
  const setting = (name: string) => env[`MODELGATE_${name}`] || env[`OLLAMA_${name}`] || undefined;
  const host = overrides.host ?? setting("HOST") ?? "";
  const keepAlive = setting("KEEP_ALIVE");
  const loadTimeout = setting("LOAD_TIMEOUT");
  const config: Config = {
    listen: parseListenAddress(host),
    home: resolve(env.MODELGATE_HOME || join(homedir(), ".modelgate")),
    logLevel: env.MODELGATE_LOG_LEVEL || "info",
    ...(env.MODELGATE_LOG_FORMAT ? { logFormat: readSetting("LOG_FORMAT", env.MODELGATE_LOG_FORMAT, parseLogFormat) } : {}),
    keepAliveMs: keepAlive === undefined ? 5 * 60_000 : readSetting("KEEP_ALIVE", keepAlive, parseKeepAlive),
    maxLoadedModels: optionalCount("MAX_LOADED_MODELS", setting("MAX_LOADED_MODELS"), 1),
    maxQueue: optionalCount("MAX_QUEUE", setting("MAX_QUEUE"), 0),
    // 0 is Ollama's "automatic": the engine's default.
    contextLength: optionalCount("CONTEXT_LENGTH", setting("CONTEXT_LENGTH"), 0) || undefined,
    loadTimeoutMs: loadTimeout === undefined ? undefined : readSetting("LOAD_TIMEOUT", loadTimeout, positiveDuration),
    shutdownGraceMs: (optionalCount("SHUTDOWN_GRACE", env.MODELGATE_SHUTDOWN_GRACE, 0) ?? 10) * 1000,
    apiKey: env.MODELGATE_API_KEY ? readSetting("API_KEY", env.MODELGATE_API_KEY, apiKey) : undefined,
    maxBodyBytes: optionalCount("MAX_BODY_BYTES", env.MODELGATE_MAX_BODY_BYTES, 1) ?? 64 * 1024 * 1024,
    maxBufferedBytes: optionalCount("MAX_BUFFERED_BYTES", env.MODELGATE_MAX_BUFFERED_BYTES, 1) ?? 256 * 1024 * 1024,
    bodyIdleTimeoutMs: env.MODELGATE_BODY_TIMEOUT ? readSetting("BODY_TIMEOUT", env.MODELGATE_BODY_TIMEOUT, duration) : 60_000,
    sendIdleTimeoutMs: env.MODELGATE_SEND_TIMEOUT ? readSetting("SEND_TIMEOUT", env.MODELGATE_SEND_TIMEOUT, duration) : 60_000,
    responsesMaxStored: optionalCount("RESPONSES_MAX_STORED", env.MODELGATE_RESPONSES_MAX_STORED, 0) ?? 1000,
    responsesMaxAgeMs: env.MODELGATE_RESPONSES_TTL ? readSetting("RESPONSES_TTL", env.MODELGATE_RESPONSES_TTL, duration) : 60 * 60_000,
    origins: originsFromEnvironment(env),
    allowedHosts: commaList(env.MODELGATE_ALLOWED_HOSTS),
    allowedRegistries: commaList(env.MODELGATE_ALLOWED_REGISTRIES),
  };
  if (config.maxBufferedBytes < config.maxBodyBytes) {
    throw new Error(`MODELGATE_MAX_BUFFERED_BYTES (${config.maxBufferedBytes}) must be at least MODELGATE_MAX_BODY_BYTES (${config.maxBodyBytes}): a body of the largest size must fit`);
  }
  return config;
}

/** A comma-separated list; undefined when unset or empty. */
function commaList(value: string | undefined): string[] | undefined {
  const items = (value ?? "").split(",").map((item) => item.trim()).filter(Boolean);
  return items.length > 0 ? items : undefined;
}

function parseLogFormat(value: string): LogFormat {
  if (value !== "json" && value !== "pretty") throw new Error("must be json or pretty");
  return value;
}

function readSetting<T>(name: string, value: string, parse: (value: string) => T): T {
  try {
    return parse(value);
  } catch (error) {
    throw new Error(`MODELGATE_${name}=${JSON.stringify(value)}: ${(error as Error).message}`);
  }
}

/** A Go-style duration or seconds, as for keep-alive, but never "forever". */
function duration(value: string): number {
  const ms = parseKeepAlive(value);
  if (ms < 0) throw new Error("must not be negative");
  return ms;
}

function apiKey(value: string): string {
  if (!apiKeyPattern.test(value)) throw new Error("must be letters, digits and . _ ~ + / - (as a bearer token), optionally ending in =");
  return value;
}

function positiveDuration(value: string): number {
  const ms = duration(value);
  if (ms === 0) throw new Error("must be more than 0");
  return ms;
}

function optionalCount(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  return readSetting(name, value, (text) => {
    const count = Number(text);
    if (!/^\d+$/.test(text) || count < min) throw new Error(`must be an integer ≥ ${min}`);
    return count;
  });
}
