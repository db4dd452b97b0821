import { Hono, type Context, type Next } from "hono";
import type { IncomingMessage } from "node:http";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { ExperimentalEndpointsPrefix, InferencePrefix, ModelsPrefix } from "../inference/prefixes.ts";
import { apiKeyAuth } from "./api-key-auth.ts";
import { bodySizeLimit } from "../http/body-size-limit.ts";
import { createByteBudget } from "../http/byte-budget.ts";
import { errorReply } from "./error-reply.ts";
import { hostCheck } from "./host-check.ts";
import { originCheck } from "./origin-check.ts";
import { pathRedaction } from "./path-redaction.ts";
import { requestLog } from "./request-log.ts";
import { ModelgateVersionHeader, modelgateVersion } from "./version.ts";
import type { EnginesDoor } from "../scheduling/engines-app.ts";
import type { OpenAILayered } from "../ollama/openai-layers.ts";
import { followingSignal } from "../http/signal-follower.ts";

export interface AppParts {
  /** The engines API, with routes relative to `/engines`. */
  readonly engines: Hono;
  /** The model manager, with routes relative to `/models`. */
  readonly models: Hono;
  /** Ollama's API, with routes relative to `/api`, tried in order (the last answers unknown paths). */
  readonly ollama: readonly Hono[];
  /** Anthropic's Messages API, with routes relative to the root (`/v1/messages`); also served under `/anthropic`. */
  readonly anthropic: Hono;
  /** OpenAI's Responses API, with routes relative to `/v1/responses`; also served under `/engines`. */
  readonly responses: Hono;
  readonly metrics: Registry;
  readonly access: AccessOptions;
  /** `GET /logs`, with routes relative to `/logs`. */
  readonly logs: Hono;
  /** Where each request's log line goes. */
  readonly logger: Logger;
  /** Ollama's OpenAI-compatible API: a `/v1` request with the model's Modelfile layers applied (`/engines/v1` stays raw). */
  readonly openAILayers?: (path: string, body: ArrayBuffer) => Promise<OpenAILayered>;
  /** Directories whose absolute paths error replies must not show, and the name shown instead. */
  readonly privateDirectories?: ReadonlyArray<readonly [directory: string, shownAs: string]>;
}

/** Who may call, and with how much. */
export interface AccessOptions {
  /** When set, every route but `GET /` and `GET /api/version` needs `Authorization: Bearer <apiKey>`. */
  readonly apiKey?: string;
  /** Largest request body on every route but blob uploads, which stream to disk. */
  readonly maxBodyBytes: number;
  /** Web origins allowed besides Ollama's local ones (`MODELGATE_ORIGINS`, `OLLAMA_ORIGINS`). */
  readonly origins?: readonly string[];
  /** The address listened on: on loopback, only local `Host` names are served. */
  readonly listenHostname: string;
  /** `Host` names served besides the local ones (`MODELGATE_ALLOWED_HOSTS`). */
  readonly hosts?: readonly string[];
  /** Bytes of request bodies all requests may hold at once; past it, 503. Default: unbounded. */
  readonly maxBufferedBytes?: number;
}

/**
 * The rest of a refused body is never read, so the connection cannot carry
 * another request: say so, or the client's next request on it fails.
 */
function closing(response: Response): Response {
  response.headers.set("Connection", "close");
  return response;
}

/**
 * A refusal of a body before it is read. One of a declared length is left
 * whole to @hono/node-server, which reads and discards it after the reply
 * (up to 64 MiB, for half a second), so the client finishes writing, reads
 * the reply, and may send its next request on the connection. Closing at once
 * would close a socket with bytes unread, which the kernel answers with a
 * reset: a client still writing its body then failed with EPIPE (now and then
 * for 800 KB, most of the time for 4 MB, on loopback). A chunked body was
 * partly taken into a stream of the middleware's, which nobody drains: that
 * connection closes.
 */
function refusingBody(c: Context, response: Response): Response {
  const declared = c.req.header("content-length") !== undefined && c.req.header("transfer-encoding") === undefined;
  return declared ? response : closing(response);
}

/** Uploads of model files: streamed to the store and verified there, never buffered, so exempt from the body limit. */
const blobUploads = ["/api/blobs/", `${ModelsPrefix}/blobs/`];
const isBlobUpload = (path: string) => blobUploads.some((prefix) => path.startsWith(prefix));

/**
 * An upload answered before its body has all arrived (a blob the store has)
 * closes the connection, as Go's net/http does past 256 KiB unread, so the
 * client may stop sending: curl, on a connection it meant to reuse, sent on
 * and failed with "Send failure: Broken pipe" after the reply. The rest that
 * still comes is read and dropped (./unread-bodies.ts).
 */
async function closingIfAnsweredEarly(c: Context, next: Next): Promise<void> {
  await next();
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming && !incoming.complete && c.res.ok) c.header("Connection", "close");
}

/**
 * The gateway's HTTP application: every front door mounted on one Hono app,
 * behind the browser checks (`Host` and `Origin`, as Ollama applies them, to
 * every route), the optional API key and the body limit. The engines API answers at `/engines`, under the
 * experimental prefix, and at `/v1/*` (an alias of `/engines/v1/*`, where
 * OpenAI clients look, with the model's Modelfile layers applied as Ollama's `/v1` does).
 */
export function createApp(parts: AppParts): Hono {
  const { engines, models, ollama, anthropic, responses, metrics, access, logs, logger } = parts;
  const app = new Hono();
  // First, so refusals (403, 401, 413) are logged too.
  app.use("*", requestLog({ logger }));
  if (parts.privateDirectories) app.use("*", pathRedaction({ roots: parts.privateDirectories, logger }));
  app.use("/api/version", async (c, next) => {
    await next();
    c.header(ModelgateVersionHeader, modelgateVersion);
  });
  // Before anything else runs: a refused page's request does nothing.
  const forbidden = (path: string, message: string) => closing(errorReply(path, 403, message, "forbidden"));
  app.use(
    "*",
    hostCheck({
      listenHostname: access.listenHostname,
      hosts: access.hosts,
      onRefused: (c, host) => forbidden(c.req.path, `host ${JSON.stringify(host)} is not allowed (MODELGATE_ALLOWED_HOSTS)`),
    }),
  );
  app.use(
    "*",
    originCheck({
      origins: access.origins,
      onRefused: (c, origin) => forbidden(c.req.path, `origin ${JSON.stringify(origin)} is not allowed (OLLAMA_ORIGINS, MODELGATE_ORIGINS)`),
    }),
  );
  if (access.apiKey) app.use("*", apiKeyAuth({ key: access.apiKey }));
  const tooLarge = `request body too large (limit ${access.maxBodyBytes} bytes, MODELGATE_MAX_BODY_BYTES)`;
  const busy = `server busy: other requests' bodies fill the buffer (limit ${access.maxBufferedBytes} bytes, MODELGATE_MAX_BUFFERED_BYTES); try again`;
  const budget = access.maxBufferedBytes === undefined ? undefined : {
    bytes: createByteBudget(access.maxBufferedBytes),
    onBusy: (c: Context) => {
      const response = refusingBody(c, errorReply(c.req.path, 503, busy, "server_busy"));
      response.headers.set("Retry-After", "1");
      return response;
    },
  };
  const limitBody = bodySizeLimit({
    maxSize: access.maxBodyBytes,
    onError: (c) => refusingBody(c, errorReply(c.req.path, 413, tooLarge, "request_too_large")),
    ...(budget ? { budget } : {}),
  });
  // A plain test, where hono/combine's `except` composed a chain of its own for every request.
  app.use("*", (c, next) => (isBlobUpload(c.req.path) ? closingIfAnsweredEarly(c, next) : limitBody(c, next)));
  // Ollama clients probe this to see whether a server is up (`GET` and `HEAD`).
  app.get("/", (c) => c.text("Ollama is running"));
  for (const part of ollama) app.route("/api", part);
  app.route(ModelsPrefix, models);
  app.route(InferencePrefix, engines);
  app.route(`${ExperimentalEndpointsPrefix}${InferencePrefix}`, engines);
  // Before the `/v1/*` alias, which would hand these to the engine untranslated.
  app.route("/", anthropic);
  app.route("/anthropic", anthropic);
  app.route("/v1/responses", responses);
  app.route(`${InferencePrefix}/v1/responses`, responses);
  const ollamaDoor: EnginesDoor = { truncateByDefault: true };
  // The body is read through Hono here, as every route reads it, so the request log finds the model.
  const v1 = async (c: Context) => {
    // The Node response goes along, so the engines write their stream to it directly.
    const door = { ...(c.env as object), ...ollamaDoor };
    if (c.req.method === "GET" || c.req.method === "HEAD") return engines.fetch(c.req.raw, door);
    const read = await c.req.arrayBuffer();
    const layered: OpenAILayered = parts.openAILayers ? await parts.openAILayers(c.req.path, read) : { path: c.req.path, body: read };
    if ("refused" in layered) return errorReply(c.req.path, 400, layered.refused, "invalid_request");
    const { path, body, reply } = layered;
    const headers = new Headers(c.req.raw.headers);
    headers.set("content-length", String(body.byteLength));
    const url = new URL(path, c.req.url);
    url.search = new URL(c.req.url).search;
    const request = followingSignal(new Request(url, { method: c.req.method, headers, body, signal: c.req.raw.signal }), c.req.raw.signal);
    // A reply to be told in another shape comes back as a web Response (no Node response to write to).
    return reply ? reply(await engines.fetch(request, ollamaDoor)) : engines.fetch(request, door);
  };
  app.route("/v1", new Hono().all("/*", v1));
  app.route("/logs", logs);
  app.get("/metrics", async (c) => c.body(await metrics.metrics(), 200, { "Content-Type": metrics.contentType }));
  app.notFound((c) => errorReply(c.req.path, 404, `${c.req.method} ${c.req.path} not found`, "not_found"));
  return app;
}
