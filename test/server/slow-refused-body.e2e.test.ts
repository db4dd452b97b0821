/**
 * A body refused for its declared size is drained, not read: a hostile
 * client that declares a huge body and sends it slowly (or fast and without
 * end) must not hold its connection, nor the gateway's memory, beyond
 * @hono/node-server's drain (64 MiB, 500 ms): the gateway closes it while
 * the client still writes, and serves others meanwhile.
 */
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { describe, it } from "node:test";
import { useGateway } from "../support/gateway.ts";

const maxBodyBytes = 256 * 1024;

/** Sends a request declaring `declared` bytes of body; resolves with what came back once the gateway closed the connection. */
function hostile(url: string, declared: number, feed: (socket: Socket) => void): Promise<{ reply: string; sent: number }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    let reply = "";
    let sent = 0;
    const socket = connect({ host: hostname, port: Number(port) });
    socket.on("error", () => {});
    socket.setEncoding("utf8").on("data", (chunk: string) => (reply += chunk));
    socket.once("close", () => resolve({ reply, sent }));
    socket.write(`POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n`);
    const write = socket.write.bind(socket);
    socket.write = ((chunk: Buffer, ...rest: never[]) => {
      sent += chunk.length;
      return write(chunk, ...rest);
    }) as typeof socket.write;
    feed(socket);
  });
}

describe("a huge declared body, refused unread, sent by a hostile client", () => {
  const served = useGateway({ env: { MODELGATE_MAX_BODY_BYTES: String(maxBodyBytes) } });

  it("sent a kilobyte at a time without end: the gateway answers 413 and closes the connection", async () => {
    let timer: NodeJS.Timeout | undefined;
    const closed = hostile(served.gateway.url, 1 << 30, (socket) => {
      timer = setInterval(() => socket.writable && socket.write(Buffer.alloc(1024, 0x20)), 20);
    });
    const version = await fetch(`${served.gateway.url}/api/version`);
    assert.equal(version.status, 200, "others are served meanwhile");
    const { reply, sent } = await closed;
    clearInterval(timer);
    assert.match(reply, /^HTTP\/1\.1 413 /);
    assert.ok(sent < 1 << 30, "closed while the client still had its body to send");
  });

  it("sent as fast as the gateway takes it: closed past the drain's bound, far short of the declared size", async () => {
    const chunk = Buffer.alloc(1 << 20, 0x20);
    const { reply, sent } = await hostile(served.gateway.url, 8 * 1024 ** 3, (socket) => {
      const pump = () => {
        while (socket.writable && socket.write(chunk));
        if (socket.writable) socket.once("drain", pump);
      };
      pump();
    });
    assert.match(reply, /^HTTP\/1\.1 413 /);
    assert.ok(sent < 8 * 1024 ** 3, `closed after ${sent} bytes`);
  });
});
