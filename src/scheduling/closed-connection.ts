/** The engine closed a kept-alive connection under a request (a dead engine refuses new ones instead: ECONNREFUSED, ENOENT). */
export function isClosedConnection(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "UND_ERR_SOCKET" || code === "ECONNRESET" || code === "EPIPE";
}

/**
 * llama-server closes some connections right after a reply without saying
 * so (one served by its short-lived extra HTTP threads); a request sent on
 * one as it closes fails before the engine has read it, and goes again.
 */
const maxSends = 3;

/**
 * `send()`'s result, sent again (up to three sends in all) while it fails on
 * a connection the engine closed under it and `mayResend()` still allows.
 *
 * @throws what the last send threw
 */
export async function sendResending<T>(send: () => Promise<T>, mayResend: () => boolean): Promise<T> {
  for (let sends = 1; ; sends++) {
    try {
      return await send();
    } catch (error) {
      if (sends >= maxSends || !isClosedConnection(error) || !mayResend()) throw error;
    }
  }
}
