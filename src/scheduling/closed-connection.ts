/** The engine closed a kept-alive connection under a request (a dead engine refuses new ones instead: ECONNREFUSED, ENOENT). */
export function isClosedConnection(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "UND_ERR_SOCKET" || code === "ECONNRESET" || code === "EPIPE";
}
