import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as v from "valibot";

/**
 * Engines that run elsewhere (a vLLM deployment, another modelgate, a
 * llama-server on another host) and manage their own models, as
 * `MODELGATE_EXTERNAL_ENGINES` (JSON) or a file (`engines.json` under the data
 * directory, or `MODELGATE_EXTERNAL_ENGINES_FILE`) declares them:
 *
 * @example
 * { "engines": [{ "name": "remote", "urls": ["http://10.0.0.5:8000", "http://10.0.0.6:8000"],
 *                 "api_key": "…", "models": ["qwen2.5-7b"], "prefix": "gpu/" }] }
 */
export interface ExternalEngineConfig {
  /** The backend name: `/engines/<name>/v1/…`. */
  readonly name: string;
  /** Replicas serving the same models, balanced by outstanding requests. */
  readonly urls: readonly [RemoteUrl, ...RemoteUrl[]];
  /** Sent as `Authorization: Bearer …` to every replica. */
  readonly apiKey?: string;
  /** Only these of the engine's models are served (its own names); all when absent. */
  readonly models?: readonly string[];
  /** Prepended to the engine's model names, to keep them apart from local ones. */
  readonly prefix: string;
  /** How often each replica's `GET /v1/models` is polled (health and model list). */
  readonly healthIntervalMs: number;
}

/** A replica's address, split the way the proxy uses it. */
export interface RemoteUrl {
  /** `http://host:port`, as the connection pool wants it. */
  readonly origin: string;
  /** Put before `/v1/…`: empty, or a path such as `/engines` (a trailing `/v1` is dropped). */
  readonly basePath: string;
  /** As the operator wrote it, minus a trailing slash: for logs and status. */
  readonly href: string;
}

/** Names that would read as an engines route rather than a backend. */
const reservedNames = new Set(["v1", "status", "ps", "df", "unload", "_configure", "rerank", "score"]);

const RemoteUrlSchema = v.pipe(
  v.string("must be a URL string"),
  v.url("must be an absolute http or https URL"),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const url = new URL(dataset.value);
    const problem =
      url.protocol !== "http:" && url.protocol !== "https:" ? "must be an http or https URL"
      : url.username || url.password ? "must not carry credentials (use api_key)"
      : url.search || url.hash ? "must not have a query or fragment"
      : null;
    if (problem) {
      addIssue({ message: problem });
      return NEVER;
    }
    const basePath = url.pathname.replace(/\/+$/, "").replace(/\/v1$/, "");
    return { origin: url.origin, basePath, href: `${url.origin}${url.pathname.replace(/\/+$/, "")}` } satisfies RemoteUrl;
  }),
);

/** Valibot's object issues, in words: a missing field, an unknown one, or not an object at all. */
const objectMessage = (issue: v.BaseIssue<unknown>) =>
  issue.expected === "never" ? "is not a known field" : issue.received === "undefined" ? "is required" : "must be a JSON object";

const EngineSchema = v.strictObject({
  name: v.pipe(
    v.string("must be a string"),
    v.regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, "must be lowercase letters, digits, '.', '_' or '-' (at most 63)"),
    v.check((name) => !reservedNames.has(name), "is reserved for an engines route"),
  ),
  urls: v.pipe(
    v.array(RemoteUrlSchema, "must be an array of URLs"),
    v.minLength(1, "must name at least one URL"),
    v.check((urls) => new Set(urls.map((url) => url.href)).size === urls.length, "must not repeat a URL"),
  ),
  api_key: v.optional(v.pipe(v.string("must be a string"), v.regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces"))),
  models: v.optional(v.array(v.pipe(v.string("must be a string"), v.nonEmpty("must not be empty"), v.maxLength(512)))),
  prefix: v.optional(v.pipe(v.string("must be a string"), v.regex(/^[A-Za-z0-9._:/-]{0,64}$/, "must be at most 64 of A-Z a-z 0-9 . _ : / -")), ""),
  health_interval_seconds: v.optional(v.pipe(v.number("must be a number"), v.minValue(0.05), v.maxValue(3600)), 5),
}, objectMessage);

const DocumentSchema = v.pipe(
  v.strictObject({ engines: v.array(EngineSchema, "must be an array") }, objectMessage),
  v.check(({ engines }) => new Set(engines.map((engine) => engine.name)).size === engines.length, "engines must have distinct names"),
);

type Environment = Readonly<Record<string, string | undefined>>;

/**
 * Reads the external engines from the environment and the configuration file,
 * if any. The default file is optional; a file named by the variable must exist.
 *
 * @throws Error naming the source and the field at fault (`engines[0].urls[1]: …`)
 */
export async function readExternalEngines(env: Environment, home: string): Promise<ExternalEngineConfig[]> {
  const named = env.MODELGATE_EXTERNAL_ENGINES_FILE || undefined;
  const path = named ?? join(home, "engines.json");
  const file = await readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (named === undefined && error.code === "ENOENT") return undefined;
    throw new Error(`external engines file ${path}: ${error.message}`);
  });
  const sources = [
    ...(file === undefined ? [] : [{ source: `external engines file ${path}`, text: file }]),
    ...(env.MODELGATE_EXTERNAL_ENGINES ? [{ source: "MODELGATE_EXTERNAL_ENGINES", text: env.MODELGATE_EXTERNAL_ENGINES }] : []),
  ];
  const engines = sources.flatMap(({ source, text }) => parseExternalEngines(text, source));
  const names = engines.map((engine) => engine.name);
  const repeated = names.find((name, index) => names.indexOf(name) !== index);
  if (repeated !== undefined) throw new Error(`external engine "${repeated}" is declared twice`);
  return engines;
}

/**
 * Parses one JSON document of external engines.
 *
 * @throws Error starting with `source`, naming the field at fault
 */
export function parseExternalEngines(text: string, source: string): ExternalEngineConfig[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${source}: not JSON: ${(error as Error).message}`);
  }
  const result = v.safeParse(DocumentSchema, json);
  if (!result.success) {
    const issue = result.issues[0]!;
    const path = (issue.path ?? []).map((item) => (typeof item.key === "number" ? `[${item.key}]` : `.${String(item.key)}`)).join("");
    throw new Error(`${source}: ${path ? `${path.replace(/^\./, "")}: ` : ""}${issue.message}`);
  }
  return result.output.engines.map((engine) => ({
    name: engine.name,
    urls: engine.urls as [RemoteUrl, ...RemoteUrl[]],
    ...(engine.api_key === undefined ? {} : { apiKey: engine.api_key }),
    ...(engine.models === undefined ? {} : { models: engine.models }),
    prefix: engine.prefix,
    healthIntervalMs: engine.health_interval_seconds * 1000,
  }));
}
