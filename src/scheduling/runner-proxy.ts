import { Readable } from "node:stream";
import { errors, type Dispatcher } from "undici";
import type { ResolvedModel } from "../models/model-resolver.ts";
import { endsWithBlankLine } from "./event-boundary.ts";
import { sendResending } from "./closed-connection.ts";
import { RunnerCrashedError } from "./loader-errors.ts";
import type { ChunkRewrite } from "./model-echo.ts";
import type { Lease } from "./loader.ts";

/** What forwarding needs of a lease: a local runner's, or an external engine replica's. */
export type ForwardLease = Pick<Lease, "dispatcher" | "signal" | "release"> & Partial<Pick<Lease, "unreachable">> & {
  readonly model: Pick<ResolvedModel, "id" | "name">;
  readonly requested: Pick<ResolvedModel, "id" | "name">;
};

export interface ForwardRequest {
  readonly method: string;
  /** Path and query on the runner: `/v1/chat/completions`. */
  readonly path: string;
  /** The client's headers, by lower-case name: `content-type` and `accept` go on. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: Uint8Array | null;
  /** The client's signal: aborting it aborts the engine's work at once. */
  readonly signal: AbortSignal;
  /** Hears how the response went, once it has (for metrics and logs). */
  readonly observer?: ForwardObserver;
  /** Rewrites the body on its way (the model echoed as the client named it). */
  readonly rewrite?: ChunkRewrite;
  /**
   * Sends on the dispatcher's kept-alive connections, again on another when
   * the engine had just closed the one it took. Without it, each request has
   * a connection of its own: for engines (replicas) whose failures must
   * never be mistaken for a closed connection.
   */
  readonly reuseConnections?: boolean;
}

export interface ForwardObserver {
  /** The runner answered with this status and content type. */
  responded?(status: number, contentType: string | null): void;
  /** A piece of the body on its way to the client. */
  chunk?(chunk: Uint8Array): void;
  settled?(outcome: "completed" | "failed" | "cancelled"): void;
}

/** A request that reached a runner serving another model (the seed's contract). */
export class MisdirectedRequestError extends Error {
  override readonly name = "MisdirectedRequestError";
}

/** How long a broken connection waits for the runner's exit, whose error says why. */
const crashExplanationGraceMs = 2_000;

export const forwardedRequestHeaders = ["content-type", "accept"];
const hopByHop = new Set(["connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade", "te", "trailer"]);

/** A runner's answer, streaming. */
export interface RunnerReply {
  readonly status: number;
  /** Hop-by-hop headers removed. */
  readonly headers: Headers;
  /** The body as it arrives, read no further ahead than its reader; see `forwardToRunner`. */
  readonly body: Readable;
}

type Outcome = "completed" | "failed" | "cancelled";

/**
 * Sends a request to the runner behind `lease` and streams its response back
 * chunk by chunk, untouched and unbuffered: a reader that pauses pauses the
 * read from the runner. The lease is released when the response is over:
 * body finished, failed or destroyed by the reader (which also aborts the
 * engine's request). If the runner dies mid-stream, an SSE stream ends with
 * an OpenAI-style `error` event carrying the engine's error; other bodies
 * are destroyed with it.
 *
 * @throws MisdirectedRequestError, RunnerCrashedError, or the client's abort reason
 */
export async function forwardToRunner(lease: ForwardLease, forward: ForwardRequest): Promise<RunnerReply> {
  let released = false;
  const release = (outcome: Outcome) => {
    if (released) return;
    released = true;
    lease.release();
    forward.observer?.settled?.(outcome);
  };

  // Compared by id, so a copy or another tag of the same model is the same model.
  if (lease.requested.id !== lease.model.id) {
    release("failed");
    throw new MisdirectedRequestError(`this runner serves ${lease.model.name}, not ${lease.requested.name}`);
  }

  const headers: Record<string, string> = {};
  for (const name of forwardedRequestHeaders) {
    const value = forward.headers[name];
    if (value !== undefined) headers[name] = value;
  }

  try {
    return await sendResending(
      () => relayed(lease, forward, headers, release),
      () => (forward.reuseConnections ?? false) && !forward.signal.aborted && !lease.signal.aborted,
    );
  } catch (error) {
    // Still holding the lease while waiting: only requests in flight hear why their runner died.
    const failure: unknown = forward.signal.aborted ? forward.signal.reason : await explainFailure(lease, error);
    const unreachable = forward.signal.aborted ? undefined : stopIfUnreachable(lease, error);
    if (unreachable) {
      release("failed");
      throw unreachable;
    }
    release(forward.signal.aborted ? "cancelled" : "failed");
    throw failure;
  }
}

/**
 * One send of the request, answered once the runner's status and headers
 * are in; rejected when it fails before them. The body is a stream of its
 * own, fed straight by undici's handler (no body stream in between): each
 * chunk passes the observer and the rewrite, the lease is released at its
 * end, and a broken event stream ends with an error event.
 */
function relayed(lease: ForwardLease, forward: ForwardRequest, headers: Record<string, string>, release: (outcome: Outcome) => void): Promise<RunnerReply> {
  const { signal, observer, rewrite } = forward;
  return new Promise((resolve, reject) => {
    let controller: Dispatcher.DispatchController | undefined;
    let body: Readable | undefined;
    let isEventStream = false;
    let atEventBoundary = true;
    let over = false;
    const onAbort = () => controller?.abort(signal.reason as Error);
    signal.addEventListener("abort", onAbort, { once: true });
    const finish = () => {
      over = true;
      signal.removeEventListener("abort", onAbort);
    };

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(started) {
        controller = started;
        if (signal.aborted) started.abort(signal.reason as Error);
      },
      onResponseStart(_, status, received) {
        if (status < 200) return; // informational: the answer follows
        const replyHeaders = new Headers();
        for (const name in received) {
          const value = received[name];
          if (value === undefined || hopByHop.has(name)) continue;
          if (Array.isArray(value)) for (const item of value) replyHeaders.append(name, item);
          else replyHeaders.append(name, value);
        }
        const contentType = replyHeaders.get("content-type");
        isEventStream = contentType?.startsWith("text/event-stream") ?? false;
        observer?.responded?.(status, contentType);
        body = new Readable({
          highWaterMark: 0,
          read: () => controller?.resume(),
          destroy(error, callback) {
            if (!over) {
              finish();
              release("cancelled");
              controller?.abort(error ?? new errors.RequestAbortedError()); // closes the engine's request
            }
            callback(error);
          },
        });
        resolve({ status, headers: replyHeaders, body });
      },
      onResponseData(_, chunk) {
        if (over || !body) return;
        observer?.chunk?.(chunk);
        if (isEventStream) atEventBoundary = endsWithBlankLine(chunk);
        const passed = rewrite ? rewrite.push(chunk) : chunk;
        if (passed && !body.push(passed)) controller?.pause();
      },
      onResponseEnd() {
        if (over || !body) return;
        finish();
        release("completed");
        const held = rewrite?.end();
        if (held) body.push(held);
        body.push(null);
      },
      onResponseError(_, error) {
        if (over) return;
        if (!body) {
          signal.removeEventListener("abort", onAbort);
          return reject(error);
        }
        finish();
        const failed = body;
        if (signal.aborted) {
          release("cancelled");
          failed.destroy(signal.reason as Error);
          return;
        }
        void explainFailure(lease, error).then((failure) => {
          release("failed");
          if (isEventStream && atEventBoundary) {
            failed.push(sseError(failure));
            failed.push(null);
          } else {
            failed.destroy(failure);
          }
        });
      },
    };
    lease.dispatcher.dispatch(
      {
        origin: "http://runner",
        path: forward.path,
        method: forward.method as Dispatcher.HttpMethod,
        headers,
        body: forward.body,
        headersTimeout: 0, // a long prompt may take its time before the first byte
        bodyTimeout: 0,
        reset: !forward.reuseConnections,
      },
      handler,
    );
  });
}

/**
 * A broken connection to a runner usually means it died: wait briefly for the
 * loader to learn why, so the client gets the engine's own last words.
 */
async function explainFailure(lease: ForwardLease, error: unknown): Promise<Error> {
  if (!lease.signal.aborted) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, crashExplanationGraceMs);
      lease.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
  }
  if (lease.signal.aborted) return lease.signal.reason as Error;
  const message = error instanceof Error ? error.message : String(error);
  return new RunnerCrashedError(`lost the connection to the runner: ${message}`, { cause: error });
}

/**
 * A runner that lives (its lease not failed) yet refuses connections, its
 * socket gone, would fail every request sent to it: it is stopped, so the
 * next request starts another. Returns the error for the client, or
 * undefined when `error` is not of that kind.
 */
export function stopIfUnreachable(lease: Pick<ForwardLease, "signal" | "unreachable">, error: unknown): RunnerCrashedError | undefined {
  if (lease.signal.aborted || !isUnreachable(error) || !lease.unreachable) return undefined;
  lease.unreachable();
  return new RunnerCrashedError("the runner could not be reached (its socket is gone); it was stopped, the next request starts another", { cause: error });
}

/** Nothing listens at the runner's socket path (any more). */
function isUnreachable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ENOENT" || code === "ECONNREFUSED";
}


function sseError(error: Error): Buffer {
  const payload = { error: { message: error.message, type: "server_error", code: "engine_failure" } };
  return Buffer.from(`data: ${JSON.stringify(payload)}\n\n`);
}
