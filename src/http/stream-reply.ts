/**
 * A streamed reply written straight to Node's response: the engine's bytes
 * (or a dialect's translation of them) go from the runner's socket to the
 * client's with Node streams only, no web stream per chunk. Hono still
 * routes, validates and answers everything else; served without Node (a
 * test's `app.request`), the same reply goes out as a web `Response`.
 *
 * @example return streamReply(c, { status: 200, headers: { "content-type": "text/event-stream" } }, reply.body)
 */
import { ServerResponse } from "node:http";
import { PassThrough, Readable, type Writable } from "node:stream";
import type { Context } from "hono";

export interface ReplyHead {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** The tokens the source states, as its own reader finds them (final once it has ended): the bytes sent need no second reading for them. */
  readonly tokens?: () => { readonly promptTokens: number; readonly completionTokens: number } | undefined;
}

/** What turns the source's chunks into the bytes sent; absent, they go as they are. */
export interface ReplyTranslation {
  /** Writes what `chunk` completes (maybe nothing, maybe several pieces). */
  push(chunk: Buffer, write: (bytes: Uint8Array) => void): void;
  /** The source ended (`failure` says why, when it broke): writes the last words. */
  end(write: (bytes: Uint8Array) => void, failure?: Error): void | Promise<void>;
}

/** Hears the bytes of a reply written straight to Node's response, and how it ended (the request log). */
export interface SentReplyWatcher {
  /** The reply's head, before any byte. */
  head(head: ReplyHead): void;
  chunk(bytes: Uint8Array): void;
  settled(outcome: "ended" | "failed" | "cancelled"): void;
}

const watchers = new WeakMap<object, SentReplyWatcher>();

/** Node responses `streamReply` writes itself: @hono/node-server must leave them alone (see `leftAlone`). */
const takenOver = new WeakSet<object>();

/** `streamReply` writes this Node response itself. */
export function isTakenOver(outgoing: object): boolean {
  return takenOver.has(outgoing);
}

/** Watches whatever reply `streamReply` writes to this Node response (`c.env.outgoing`). */
export function watchSentReply(outgoing: object, watcher: SentReplyWatcher): void {
  watchers.set(outgoing, watcher);
}

/** The Node response under `c`, when @hono/node-server serves it and nothing was sent yet. */
export function nodeResponse(c: Context): ServerResponse | undefined {
  const outgoing = (c.env as { outgoing?: unknown } | undefined)?.outgoing;
  return outgoing instanceof ServerResponse && !outgoing.headersSent ? outgoing : undefined;
}

/**
 * Streams `source` (through `translation`) as the reply. A client that stops
 * reading pauses the source; one that leaves destroys it (which, for an
 * engine's body, cancels the engine's work). The headers go out with the
 * first bytes, or alone once the source has none ready. Writes made while
 * the event loop handles one round of I/O, the end included, go out in one
 * system call; a lone one waits for nothing else.
 */
export function streamReply(c: Context, head: ReplyHead, source: Readable, translation?: ReplyTranslation): Response {
  const outgoing = nodeResponse(c);
  if (!outgoing) {
    const target = new PassThrough();
    pump(source, target, translation);
    return new Response(Readable.toWeb(target) as ReadableStream<Uint8Array>, head);
  }
  // Headers earlier middleware set (CORS) go out with the reply's own.
  const headers: Record<string, string> = {};
  c.res.headers.forEach((value, name) => void (headers[name] = value));
  outgoing.writeHead(head.status, { ...headers, ...head.headers });
  takenOver.add(outgoing);
  const watcher = watchers.get(outgoing);
  watcher?.head(head);
  pump(source, outgoing, translation, watcher);
  // What Hono's middleware sees (the request log reads its status and type); never sent.
  const contentType = head.headers["content-type"];
  return new Response(null, { status: head.status, ...(contentType === undefined ? {} : { headers: { "content-type": contentType } }) });
}

/** Replies corked during this round of I/O: uncorked together in its check phase, after its callbacks and the ticks they queued (a stream's end is one). */
let dueUncorks: Array<() => void> = [];

function uncorkInCheckPhase(uncork: () => void): void {
  if (dueUncorks.push(uncork) > 1) return;
  setImmediate(() => {
    const due = dueUncorks;
    dueUncorks = [];
    for (const each of due) each();
  });
}

function pump(source: Readable, target: Writable, translation: ReplyTranslation | undefined, watcher?: SentReplyWatcher): void {
  let corked = false;
  let wrote = false;
  let over = false;
  const uncork = () => {
    corked = false;
    target.uncork();
  };
  const write = (bytes: Uint8Array) => {
    wrote = true;
    if (!corked) {
      corked = true;
      target.cork();
      uncorkInCheckPhase(uncork);
    }
    watcher?.chunk(bytes);
    if (!target.write(bytes) && !source.isPaused()) {
      source.pause();
      target.once("drain", () => source.resume());
    }
  };
  // A source with nothing to say yet (an engine still reading a long prompt) does not hold the headers back.
  if (target instanceof ServerResponse) setImmediate(() => wrote || over || target.flushHeaders());
  const finish = (outcome: "ended" | "failed", failure?: Error) => {
    if (over) return;
    over = true;
    const last = translation?.end(write, failure);
    const done = () => {
      if (outcome === "failed" && !translation) target.destroy(failure);
      else target.end();
      watcher?.settled(outcome);
    };
    if (last instanceof Promise) last.then(done, (error: unknown) => target.destroy(error as Error));
    else done();
  };
  source.on("data", translation ? (chunk: Buffer) => translation.push(chunk, write) : write);
  // A client gone mid-write is heard by "close"; its write errors say nothing more.
  target.on("error", () => {});
  source.once("end", () => finish("ended"));
  source.once("error", (error) => finish("failed", error));
  // The client left before the end: stop the source, and the work behind it.
  target.once("close", () => {
    if (over) return;
    over = true;
    source.destroy();
    watcher?.settled("cancelled");
  });
}
