import { Pool, type Dispatcher } from "undici";
import type { RemoteUrl } from "./external-config.ts";

/**
 * Reaches one replica: a connection pool for its origin that puts its base
 * path before every request's path (`/v1/chat/completions` →
 * `/engines/v1/chat/completions`) and adds the API key as a bearer token.
 */
export function createReplicaDispatcher(url: RemoteUrl, apiKey: string | undefined): Dispatcher {
  const pool = new Pool(url.origin, { connect: { timeout: 10_000 }, keepAliveTimeout: 10_000 });
  return pool.compose((dispatch) => (options, handler) =>
    dispatch({ ...options, path: url.basePath + options.path, headers: withBearer(options.headers, apiKey) }, handler),
  );
}

/**
 * `dispatcher`, telling `report` of every request's failure (refused, reset,
 * cut off mid-body…) before the request's own handler hears of it, so the
 * caller knows which replica failed and why by the time it sees the error.
 */
export function reportingFailures(dispatcher: Dispatcher, report: (error: Error) => void): Dispatcher {
  return dispatcher.compose((dispatch) => (options, handler) =>
    dispatch(options, {
      onRequestStart: (controller, context) => handler.onRequestStart?.(controller, context),
      onRequestUpgrade: (controller, status, headers, socket) => handler.onRequestUpgrade?.(controller, status, headers, socket),
      onResponseStart: (controller, status, headers, message) => handler.onResponseStart?.(controller, status, headers, message),
      onResponseData: (controller, chunk) => handler.onResponseData?.(controller, chunk),
      onResponseEnd: (controller, trailers) => handler.onResponseEnd?.(controller, trailers),
      onResponseError: (controller, error) => {
        report(error);
        handler.onResponseError?.(controller, error);
      },
    }),
  );
}

/** Error codes that say the replica could not be reached or dropped the connection, rather than refusing the request. */
const connectionFailureCodes = new Set([
  "ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN",
  "UND_ERR_SOCKET", "UND_ERR_CONNECT_TIMEOUT",
  // The parser's word for a connection that closed mid-response.
  "HPE_INVALID_EOF_STATE",
]);

/** True for a connection that failed or broke, false for an abort, a timeout of ours or a malformed response. */
export function isConnectionFailure(error: unknown): boolean {
  for (let cause: unknown = error; cause instanceof Error; cause = cause.cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code !== undefined && connectionFailureCodes.has(code)) return true;
  }
  return false;
}

function withBearer(headers: Dispatcher.DispatchOptions["headers"], apiKey: string | undefined): Dispatcher.DispatchOptions["headers"] {
  if (apiKey === undefined) return headers;
  const authorization = `Bearer ${apiKey}`;
  if (Array.isArray(headers)) return [...(headers as string[]), "authorization", authorization];
  // The proxy and the health checks pass plain records.
  return { ...(headers as Record<string, string> | null | undefined), authorization };
}
