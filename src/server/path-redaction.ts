/**
 * Error replies say what went wrong, not where this machine keeps its
 * files: an absolute path under the data directory, the user's home or the
 * temporary directory (a file system error's `open '/home/…/blobs/…'`, a
 * crashed engine's stderr) tells a client about the host, and helps it
 * aim. Each such root is replaced by a name in the reply; the log keeps the
 * message whole.
 *
 * @example app.use("*", pathRedaction({ roots: [["/srv/modelgate", "$MODELGATE_HOME"]], logger }))
 */
import type { MiddlewareHandler } from "hono";
import type { Logger } from "pino";

export interface PathRedactionOptions {
  /** Absolute directories and the name each is shown as: `["/home/me/.modelgate", "$MODELGATE_HOME"]`. */
  readonly roots: ReadonlyArray<readonly [directory: string, shownAs: string]>;
  readonly logger: Logger;
}

/** Replies of this size or more are not error messages, and are passed on untouched. */
const maxRedactedBytes = 1024 * 1024;

export function pathRedaction(options: PathRedactionOptions): MiddlewareHandler {
  // Longest first: the data directory usually lies inside the home directory.
  const roots = options.roots
    .filter(([directory]) => directory.length > 1)
    .map(([directory, shownAs]) => [directory.replace(/\/+$/, ""), shownAs] as const)
    .sort(([a], [b]) => b.length - a.length);
  const redact = (text: string) => roots.reduce((result, [directory, shownAs]) => result.replaceAll(directory, shownAs), text);
  return async (c, next) => {
    await next();
    const response = c.res;
    if (response.status < 400 || !response.body || !/^application\/json\b/i.test(response.headers.get("content-type") ?? "")) return;
    if (Number(response.headers.get("content-length") ?? 0) >= maxRedactedBytes) return;
    const text = await response.text();
    const redacted = redact(text);
    if (redacted !== text) options.logger.info({ component: "server", path: c.req.path, reply: text }, "paths removed from an error reply");
    const headers = new Headers(response.headers);
    headers.delete("content-length");
    c.res = undefined;
    c.res = new Response(redacted, { status: response.status, headers });
  };
}
