import type { IncomingMessage, Server, ServerResponse } from "node:http";

/**
 * A reply may finish before its request's body has all arrived: an upload
 * of a blob already stored, a refusal. Closing a socket with bytes unread
 * makes the kernel answer with a reset, which can overtake the reply: a
 * client still writing its body (Node's own, for one) meets the broken pipe
 * first and never reads the reply. Node closes at once a connection the
 * client asked to close; so, as Go's net/http and nginx do, the close waits:
 *
 * - The rest of the body is read and dropped. Whoever was handed it is done
 *   with it once the reply is out, and a web stream nobody reads would pause
 *   the request at each chunk.
 * - A connection that closes after the reply sends its FIN at once and is
 *   closed when the body has all arrived, or after `lingerMs`.
 * - A connection kept alive whose body is not all in after `lingerMs` closes
 *   so too. Node would read it for as long as the client sends, and a
 *   shutdown would wait on it: @hono/node-server drains only the bodies of
 *   requests that reached the app, and never a GET's or a HEAD's.
 */
export function discardUnreadBodies(server: Server, lingerMs = 500): void {
  server.on("request", (request: IncomingMessage, response: ServerResponse) => {
    // Before Node's own listener, which closes the connection when it is to close.
    response.prependOnceListener("finish", () => {
      if (request.complete || request.destroyed) return;
      lingerBeforeClosing(request, lingerMs);
      request.removeAllListeners("data");
      request.resume();
    });
  });
}

function lingerBeforeClosing(request: IncomingMessage, lingerMs: number): void {
  const socket = request.socket;
  const destroySoon = socket.destroySoon;
  let closing = false;
  const closeSoon = () => {
    // Asked again (@hono/node-server's drain, past its own half second): the linger stands.
    if (closing) return;
    closing = true;
    clearTimeout(timer);
    socket.end();
    timer = setTimeout(() => socket.destroy(), lingerMs).unref();
  };
  // Kept alive, the connection never asks: it closes if the body is not in by then.
  let timer = setTimeout(closeSoon, lingerMs).unref();
  socket.destroySoon = closeSoon;
  request.once("end", () => {
    clearTimeout(timer);
    socket.destroySoon = destroySoon;
    // All in: a connection kept alive carries the next request; one closing is closed.
    if (closing) socket.destroy();
  });
  socket.once("close", () => clearTimeout(timer));
}
