import { Hono, type Context } from "hono";
import type { Logger } from "pino";
import * as v from "valibot";
import type { EnginePath, Engines } from "../engines/engines.ts";
import { parseBackendConfiguration } from "../inference/backend-configuration.ts";
import { backendModes } from "../inference/backend-mode.ts";
import { LoadDurationHeader } from "../inference/load-duration.ts";
import { KnownOrigins, OriginDirect, RequestOriginHeader } from "../inference/origin.ts";
import type { ModelResolver } from "../models/model-resolver.ts";
import { bodySizeLimit } from "../http/body-size-limit.ts";
import { streamReply } from "../http/stream-reply.ts";
import { configurationView } from "./configuration-view.ts";
import type { EngineMetrics } from "./engine-metrics.ts";
import { KeepAliveSchema, ModelFieldSchema, keepAliveField } from "./engine-request.ts";
import type { ExternalEngines } from "./external/external-engines.ts";
import { parseJsonBody, parseRequestInput } from "./json-body.ts";
import type { Loader, UnloadSelector } from "./loader.ts";
import { openAIErrorResponse, toOpenAIError } from "./openai-error.ts";
import { forwardedRequestHeaders } from "./runner-proxy.ts";
import { checkBackendName, createScheduledEngines, engineModes } from "./scheduled-engines.ts";

export interface EnginesAppOptions {
  /** The contract these routes are the HTTP face of; by default one over `loader` (and `external`). */
  readonly engines?: Engines;
  readonly loader: Loader;
  readonly resolver: ModelResolver;
  readonly logger: Logger;
  readonly metrics?: EngineMetrics;
  /** Largest request body accepted; default 64 MiB (images travel inline). */
  readonly maxBodyBytes?: number;
  /** Engines running elsewhere: their models are listed and served alongside the local ones. */
  readonly external?: ExternalEngines;
}

/** Origins become metric labels: only the gateway's own, the rest folded into one. */
const knownOrigins = new Set(KnownOrigins);

const UnloadSchema = v.union([
  v.strictObject({ all: v.literal(true) }),
  v.strictObject({ backend: v.optional(v.string()), models: v.array(v.pipe(v.string(), v.maxLength(512))) }),
]);

const ModeFieldSchema = v.optional(v.picklist(backendModes, `mode must be one of ${backendModes.join(", ")}`));

const ConfigureFieldsSchema = v.looseObject({
  model: ModelFieldSchema,
  mode: ModeFieldSchema,
  keep_alive: v.optional(KeepAliveSchema),
});

const ConfigurationQuerySchema = v.object({ model: ModelFieldSchema, mode: ModeFieldSchema });

/**
 * The engines API as a Hono app with relative routes: mount it with
 * `app.route("/engines", engines)` (and under `/exp/vDD4.40/engines`); its
 * `/v1/*` routes also serve the `/v1/*` alias as they are, e.g.
 * `app.all("/v1/*", (c) => engines.fetch(c.req.raw))`.
 *
 * It is the HTTP face of the engines contract (`src/engines/engines.ts`):
 * inference requests go to `engines.send` and its reply's bytes are written
 * to the client's socket as they come (`streamReply`).
 */
/**
 * What the door a request came in by decides, passed as the env of the engines
 * app's `fetch`: the `/v1` alias is where Ollama's OpenAI-compatible API lives,
 * and there, as in Ollama, what does not fit the context is cut unless the
 * request says `truncate: false`. `/engines` leaves it to the engine.
 */
export interface EnginesDoor {
  readonly truncateByDefault?: boolean;
}

export function createEnginesApp(options: EnginesAppOptions): Hono {
  const { loader, resolver, external } = options;
  const logger = options.logger.child({ component: "engines" });
  const engines = options.engines ?? createScheduledEngines(options);
  const limit = bodySizeLimit({
    maxSize: options.maxBodyBytes ?? 64 * 1024 * 1024,
    onError: () =>
      openAIErrorResponse({ status: 413, message: "request body too large", type: "invalid_request_error", code: "request_too_large" }),
  });

  const app = new Hono();

  app.onError((error, c) => {
    const described = toOpenAIError(error, c.req.raw.signal);
    if (described.status >= 500) logger.warn({ err: error, path: c.req.path }, "engines request failed");
    return openAIErrorResponse(described);
  });
  app.notFound((c) =>
    openAIErrorResponse({ status: 404, message: `no route for ${c.req.method} ${c.req.path}`, type: "not_found_error", code: null }),
  );

  const infer = (path: EnginePath) => async (c: Context) => {
    const originHeader = c.req.header(RequestOriginHeader);
    const headers: Record<string, string> = {};
    for (const name of forwardedRequestHeaders) {
      const value = c.req.header(name);
      if (value !== undefined) headers[name] = value;
    }
    const search = querySearch(c.req.url);
    const backend = c.req.param("backend");
    const reply = await engines.send({
      path,
      body: new Uint8Array(await c.req.arrayBuffer()),
      origin: originHeader === undefined ? OriginDirect : knownOrigins.has(originHeader) ? originHeader : "other",
      signal: c.req.raw.signal,
      headers,
      ...(search ? { search } : {}),
      ...(backend === undefined ? {} : { backend }),
      ...((c.env as EnginesDoor | undefined)?.truncateByDefault ? { truncateByDefault: true } : {}),
    });
    const head: Record<string, string> = { [LoadDurationHeader]: reply.loadDurationMs.toFixed(3) };
    reply.headers.forEach((value, name) => void (head[name] = value));
    return streamReply(c, { status: reply.status, headers: head, ...(reply.usage ? { tokens: reply.usage } : {}) }, reply.body);
  };

  const inferencePaths = Object.keys(engineModes) as EnginePath[];
  for (const path of inferencePaths) app.post(path, limit, infer(path));
  // After the plain paths, so `/v1/rerank` is never read as backend "v1".
  for (const path of inferencePaths) app.post(`/:backend${path}`, limit, infer(path));

  const backendOf = (c: Context) => checkBackendName(c.req.param("backend"), loader, external);

  const listModels = async (c: Context) => c.json({ object: "list", data: await engines.models(c.req.param("backend")) });
  const showModel = async (c: Context) => c.json(await engines.model(c.req.param("model") ?? "", c.req.param("backend")));
  app.get("/v1/models", listModels);
  app.get("/:backend/v1/models", listModels);
  app.get("/v1/models/:model{.+}", showModel);
  app.get("/:backend/v1/models/:model{.+}", showModel);

  app.get("/status", (c) =>
    c.json({
      ...Object.fromEntries([...loader.backends.values()].map((backend) => [backend.name, backend.status()])),
      ...external?.status(),
    }),
  );

  app.get("/ps", (c) => c.json(engines.runners()));

  app.get("/df", async (c) => {
    const [models, backends] = await Promise.all([
      resolver.list(),
      Promise.all([...loader.backends.values()].map(async (backend) => [backend.name, await backend.diskUsage()] as const)),
    ]);
    return c.json({
      models_disk_usage: models.reduce((sum, model) => sum + model.size, 0),
      default_backend_disk_usage: backends[0]?.[1] ?? 0,
      backends_disk_usage: Object.fromEntries(backends),
    });
  });

  app.post("/unload", limit, async (c) => {
    const selector: UnloadSelector = parseJsonBody(UnloadSchema, await c.req.arrayBuffer());
    return c.json({ unloaded_runners: await engines.unload(selector) });
  });

  const configure = async (c: Context) => {
    const backend = backendOf(c);
    const { model, mode, keep_alive, ...rest } = parseJsonBody(ConfigureFieldsSchema, await c.req.arrayBuffer());
    const keepAliveMs = keepAliveField(keep_alive);
    const config = parseBackendConfiguration(rest);
    const { changed } = await loader.configure({ model, backend, mode, keepAliveMs, config });
    return c.json({ model, changed });
  };
  app.post("/_configure", limit, configure);
  app.post("/:backend/_configure", limit, configure);

  const showConfiguration = async (c: Context) => {
    const backend = backendOf(c);
    const { model, mode } = parseRequestInput(ConfigurationQuerySchema, c.req.query());
    return c.json(configurationView(await loader.configurationOf({ model, backend, mode })));
  };
  app.get("/_configure", showConfiguration);
  app.get("/:backend/_configure", showConfiguration);

  return app;
}

/** The URL's query (`?…`), parsed only when there may be one: most requests have none. */
function querySearch(url: string): string {
  return url.includes("?") ? new URL(url).search : "";
}
