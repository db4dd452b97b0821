import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";

export interface IdleTransferOptions {
  /** A request body that brings no byte for this long is cut with a 408 (nginx's `client_body_timeout`); 0 never. */
  readonly receiveIdleMs: number;
  /** A response the client takes no byte of for this long is cut (nginx's `send_timeout`); 0 never. */
  readonly sendIdleMs: number;
  /** Hears each cut, for the log. */
  readonly onCut?: (cut: { readonly direction: "receive" | "send"; readonly method?: string; readonly url?: string }) => void;
}

/** One request in flight, as last seen. */
interface Transfer {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  receivedAt: number;
  /** Bytes waiting to go out while the client takes none. */
  pending: number;
  sentAt: number;
}

/**
 * Idle timeouts instead of total ones: an upload or a download may take
 * hours while bytes move, and a client that stops moving them is cut
 * after the idle time, whatever it holds (a runner's lease, a buffer).
 * A cut request body gets a 408; a cut response has its connection
 * destroyed, which cancels the work behind it. Waiting for the server
 * (a model loading, a prompt being read) is not idleness: only a body
 * we are ready to read, or output the client does not take, counts.
 *
 * @example watchIdleTransfers(server, { receiveIdleMs: 60_000, sendIdleMs: 60_000 })
 */
export function watchIdleTransfers(server: Server, options: IdleTransferOptions): void {
  const { receiveIdleMs, sendIdleMs } = options;
  if (receiveIdleMs <= 0 && sendIdleMs <= 0) return;
  const transfers = new Set<Transfer>();
  const tickMs = Math.max(50, Math.min(1_000, ...[receiveIdleMs, sendIdleMs].filter((ms) => ms > 0).map((ms) => ms / 4)));
  let ticker: NodeJS.Timeout | undefined;

  const check = () => {
    const now = performance.now();
    for (const transfer of transfers) {
      const { request, response } = transfer;
      const socket = request.socket;
      if (socket.destroyed) {
        transfers.delete(transfer);
        continue;
      }
      if (receiveIdleMs > 0 && isWaitingForBody(request)) {
        if (now - transfer.receivedAt >= receiveIdleMs) {
          transfers.delete(transfer);
          cutReceive(socket, response, receiveIdleMs);
          options.onCut?.({ direction: "receive", method: request.method, url: request.url });
          continue;
        }
      } else {
        transfer.receivedAt = now;
      }
      // Output the client takes shrinks the socket's queue; a queue that stays means it stopped reading.
      const pending = response.writableNeedDrain ? socket.writableLength : 0;
      if (sendIdleMs > 0 && pending > 0 && pending >= transfer.pending) {
        if (now - transfer.sentAt >= sendIdleMs) {
          transfers.delete(transfer);
          socket.destroy();
          options.onCut?.({ direction: "send", method: request.method, url: request.url });
          continue;
        }
      } else {
        transfer.sentAt = now;
      }
      transfer.pending = pending;
    }
    if (transfers.size === 0) {
      clearInterval(ticker);
      ticker = undefined;
    }
  };

  server.on("request", (request: IncomingMessage, response: ServerResponse) => {
    const now = performance.now();
    const transfer: Transfer = { request, response, receivedAt: now, pending: 0, sentAt: now };
    // The HTTP parser reads the socket natively (its byte count stands still) and pushes each piece of body here.
    const push = request.push.bind(request);
    request.push = (chunk, encoding) => {
      transfer.receivedAt = performance.now();
      return push(chunk, encoding);
    };
    transfers.add(transfer);
    response.once("close", () => transfers.delete(transfer));
    ticker ??= setInterval(check, tickMs).unref();
  });
}

/**
 * The body is not all in, and what came has been consumed: the server
 * waits for the client. (Bytes read but not yet consumed mean the
 * handler is the slow one.)
 */
function isWaitingForBody(request: IncomingMessage): boolean {
  return !request.complete && request.readableLength === 0;
}

function cutReceive(socket: Socket, response: ServerResponse, idleMs: number): void {
  if (response.headersSent) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ error: `request body timed out: no data for ${idleMs / 1000}s` });
  const head = `HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`;
  socket.end(head + body, () => socket.destroy());
}
