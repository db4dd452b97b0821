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
 *
 * A connection kept alive is bounded by @hono/node-server's own drain
 * (half a second, 64 MiB), which this lets make progress.
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
  const restore = () => void (socket.destroySoon = destroySoon);
  // Kept alive, the connection never asks: the next request on it closes as Node would.
  request.once("end", restore);
  socket.destroySoon = () => {
    restore();
    socket.end();
    const close = () => {
      clearTimeout(timer);
      socket.destroy();
    };
    const timer = setTimeout(close, lingerMs);
    timer.unref();
    request.once("end", close);
    socket.once("close", () => clearTimeout(timer));
  };
}
