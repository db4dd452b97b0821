/**
 * One log line per request, once its response has ended: method, path,
 * model, origin, status, duration and the tokens the response reports.
 * Streams (NDJSON, server-sent events) are watched as they pass and logged
 * at their last byte; a POST's JSON reply is read from a copy; anything else
 * is logged as soon as it is answered. The model is read, once the line is
 * due, from the request body as the handler read it (Hono keeps it), so the
 * log never holds a request up or reads a body of its own.
 *
 * @example app.use("*", requestLog({ logger }))
 */
import type { HonoRequest, MiddlewareHandler } from "hono";
import type { Logger } from "pino";
import { bodyModel } from "../http/body-model.ts";
import { isTakenOver, nodeResponse, watchSentReply, type ReplyHead } from "../http/stream-reply.ts";
import { RequestOriginHeader } from "../inference/origin.ts";
import type { TokenUsage } from "../scheduling/usage-tap.ts";
import { bodyTail, reportedTokens } from "./response-tokens.ts";

export interface RequestLogOptions {
  readonly logger: Logger;
  /** JSON request bodies up to this size are read for their `model`; larger ones (uploads, inline images) are not. */
  readonly maxModelBodyBytes?: number;
}

const streamTypes = /^(application\/x-ndjson|text\/event-stream)/;

export function requestLog(options: RequestLogOptions): MiddlewareHandler {
  const logger = options.logger.child({ component: "http" });
  const maxModelBodyBytes = options.maxModelBodyBytes ?? 1024 * 1024;

  return async (c, next) => {
    const started = performance.now();
    const request = c.req.raw;
    // A reply the handler writes straight to Node's response is watched there, from its first byte.
    const outgoing = nodeResponse(c);
    const sent = outgoing && watchedReply(outgoing);
    await next();
    const response = c.res;
    const entry = {
      method: request.method,
      path: c.req.path,
      status: response.status,
      ...optionalHeader("origin", request.headers.get("origin")),
      ...optionalHeader("request_origin", request.headers.get(RequestOriginHeader)),
    };
    const log = (fields: Record<string, unknown> = {}) => {
      const duration_ms = Math.round(performance.now() - started);
      void requestedModel(c.req, maxModelBodyBytes).then((model) => {
        const line = { ...entry, ...(model === undefined ? {} : { model }), duration_ms, ...fields };
        logger[response.status >= 500 ? "warn" : "info"](line, `${entry.method} ${entry.path} ${entry.status}`);
      });
    };
    const contentType = response.headers.get("content-type");
    const tokens = (tail: Uint8Array, whole: boolean) => tokenFields(reportedTokens(contentType, tail, whole));

    if (outgoing && sent && isTakenOver(outgoing)) {
      sent.settled((outcome) => {
        if (outcome !== "ended") return log({ outcome });
        const stated = sent.stated();
        if (stated) return log(tokenFields(stated()));
        const { tail: bytes, whole } = sent.tail.bytes();
        log(tokens(bytes, whole));
      });
    } else if (response.body && streamTypes.test(contentType ?? "")) {
      const tail = bodyTail();
      c.res = new Response(
        watched(response.body, tail.push, (outcome) => {
          const { tail: bytes, whole } = tail.bytes();
          log(outcome === "ended" ? tokens(bytes, whole) : { outcome });
        }),
        response,
      );
    } else if (response.body && request.method === "POST" && contentType?.startsWith("application/json")) {
      response.clone().arrayBuffer().then(
        (body) => log(tokens(new Uint8Array(body), true)),
        () => log({ outcome: "cancelled" }),
      );
    } else {
      log();
    }
  };
}

function tokenFields(usage: TokenUsage | undefined) {
  return usage ? { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens } : {};
}

/**
 * What a reply written straight to Node's response sent (its last bytes), and
 * how it ended, once it has. A reply whose source states its own counts
 * (an engine's events, which the metrics read; the lines an Ollama
 * translation writes) is not kept: the same counts would be found twice.
 */
function watchedReply(outgoing: object) {
  const tail = bodyTail();
  let stated: ReplyHead["tokens"];
  let outcome: "ended" | "failed" | "cancelled" | undefined;
  let hear: ((outcome: "ended" | "failed" | "cancelled") => void) | undefined;
  watchSentReply(outgoing, {
    head(head) {
      if (head.tokens) stated = head.tokens;
    },
    chunk(bytes) {
      if (!stated) tail.push(bytes);
    },
    settled(settledAs) {
      outcome = settledAs;
      hear?.(settledAs);
    },
  });
  return {
    tail,
    stated: () => stated,
    settled(listener: (outcome: "ended" | "failed" | "cancelled") => void) {
      if (outcome) listener(outcome);
      else hear = listener;
    },
  };
}

/** The body passed through as it is read, each chunk seen; `settled` hears how it ended. */
function watched(
  body: ReadableStream<Uint8Array>,
  see: (chunk: Uint8Array) => void,
  settled: (outcome: "ended" | "failed" | "cancelled") => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          controller.close();
          return settled("ended");
        }
        see(value);
        controller.enqueue(value);
      } catch (error) {
        controller.error(error);
        settled("failed");
      }
    },
    cancel(reason) {
      settled("cancelled");
      return reader.cancel(reason);
    },
  });
}

/**
 * The `model` of a JSON body the handler read through Hono (which keeps what
 * it read); a body it streamed or left unread is not read here. A body the
 * gateway parsed already had its model noted then (`noteBodyModel`).
 */
async function requestedModel(request: HonoRequest, maxBytes: number): Promise<string | undefined> {
  const length = Number(request.header("content-length"));
  if (!(length > 0 && length <= maxBytes)) return undefined;
  // The cache holds promises, whatever its type says.
  const { json, text, arrayBuffer } = request.bodyCache as { json?: Promise<unknown>; text?: Promise<string>; arrayBuffer?: Promise<ArrayBuffer> };
  try {
    const bytes = arrayBuffer && !json && !text ? await arrayBuffer : undefined;
    // null is noted too: a body that names no model is not parsed again to find none.
    const byRequest = bodyModel(request);
    const noted = byRequest === undefined && bytes ? bodyModel(bytes) : byRequest;
    if (noted !== undefined) return noted?.slice(0, 200);
    // Whatever its content type says: curl's `-d` sends Ollama's JSON as a form.
    const body: unknown = json ? await json : text ? JSON.parse(await text) : bytes ? JSON.parse(new TextDecoder().decode(bytes)) : undefined;
    const model = typeof body === "object" && body !== null ? (body as Record<string, unknown>).model : undefined;
    return typeof model === "string" ? model.slice(0, 200) : undefined;
  } catch {
    return undefined;
  }
}

function optionalHeader(name: string, value: string | null): Record<string, string> {
  return value === null ? {} : { [name]: value.slice(0, 200) };
}
