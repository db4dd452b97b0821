/**
 * A reply that comes before its request's body has all arrived: an upload of
 * a blob the store already has (Open WebUI posts the file whatever the store
 * holds), a body refused for its size. The gateway closed a connection the
 * client had asked to close at once, with bytes unread, so the kernel reset
 * it: Node's http client (no agent: `Connection: close`) still writing a
 * 45 MB upload met EPIPE before the 201 in about 3 uploads of 100, and the
 * Open WebUI replay hung on it in CI. Each test writes part of the body,
 * waits for the reply, then writes the rest: a reset shows as an error.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { connect, type Socket } from "node:net";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { startGateway, useGateway } from "../support/gateway.ts";

const blob = randomBytes(1 << 20);
const digest = `sha256:${createHash("sha256").update(blob).digest("hex")}`;
const firstPart = 256 * 1024;

/** A raw connection: what it received, whether it was ended by the server, and any error (a reset). */
function rawConnection(url: string) {
  const { hostname, port } = new URL(url);
  // Half-open allowed: the server's FIN must not end our side before the rest of the body is written.
  const socket: Socket = connect({ host: hostname, port: Number(port), allowHalfOpen: true });
  const seen = { text: "", ended: false, errors: [] as string[] };
  socket.setEncoding("latin1");
  const changed = () => void socket.emit("changed");
  socket.on("data", (chunk: string) => ((seen.text += chunk), changed()));
  socket.on("end", () => ((seen.ended = true), changed()));
  socket.on("error", (error: NodeJS.ErrnoException) => (seen.errors.push(error.code ?? error.message), changed()));
  socket.on("close", changed);
  const until = async (done: () => boolean) => {
    while (!done() && !socket.destroyed) await once(socket, "changed");
  };
  const closed = once(socket, "close");
  return { socket, seen, until, closed };
}

/** The status lines, in order (a reply may follow a body on its line). */
const replies = (text: string) => text.match(/HTTP\/1\.1 \d{3}/g) ?? [];

/**
 * Sends a request that declares a body of a terabyte, then a few bytes of
 * it now and then, as long as the server keeps the connection open (at most
 * a minute, so a server that never closes fails the test instead of hanging it).
 */
async function trickleEndlessly(connection: ReturnType<typeof rawConnection>, head: string[]) {
  const { socket, seen } = connection;
  socket.write([...head, `Content-Length: ${2 ** 40}`, "", ""].join("\r\n"));
  for (let writes = 0; writes < 1_200 && !seen.ended && !socket.destroyed; writes++) {
    socket.write("x".repeat(16));
    await sleep(50);
  }
}

describe("a body the reply came before", () => {
  const served = useGateway({ env: { MODELGATE_MAX_BODY_BYTES: String(256 * 1024) } });

  const upload = (connection: "close" | "keep-alive") =>
    [
      `POST /api/blobs/${digest} HTTP/1.1`,
      `Host: ${new URL(served.gateway.url).host}`,
      `Content-Length: ${blob.byteLength}`,
      `Connection: ${connection}`,
      "",
      "",
    ].join("\r\n");

  it("the blob is stored by a first upload, read whole", async () => {
    const reply = await fetch(`${served.gateway.url}/api/blobs/${digest}`, { method: "POST", body: blob });
    assert.equal(reply.status, 201);
  });

  it("an upload of a blob the store has, the client asking to close or to keep alive: the 200 (as Ollama answers it) says Connection: close (so a client stops sending: curl met a broken pipe after it), the server's FIN, then the rest of the body is read, never reset", async () => {
    for (const connection of ["close", "keep-alive"] as const) {
      const { socket, seen, until, closed } = rawConnection(served.gateway.url);
      socket.write(upload(connection));
      socket.write(blob.subarray(0, firstPart));
      await until(() => seen.ended);
      assert.match(seen.text, /^HTTP\/1\.1 200 /, connection);
      assert.match(seen.text, /\r\nConnection: close\r\n/i, connection);
      socket.end(blob.subarray(firstPart));
      await closed;
      assert.deepEqual(seen.errors, [], connection);
    }
  });

  it("kept alive, an upload refused with its body to come (a digest no blob can have): the 400, the rest of the body read, and the connection carries the next request", async () => {
    const { socket, seen, until, closed } = rawConnection(served.gateway.url);
    socket.write(upload("keep-alive").replace(digest, "sha256:not-hex"));
    socket.write(blob.subarray(0, firstPart));
    await until(() => replies(seen.text).length === 1 && /\}$/.test(seen.text));
    assert.match(seen.text, /^HTTP\/1\.1 400 /);
    assert.doesNotMatch(seen.text, /\r\nConnection: close\r\n/i);
    socket.write(blob.subarray(firstPart));
    socket.write(`GET /api/version HTTP/1.1\r\nHost: ${new URL(served.gateway.url).host}\r\nConnection: close\r\n\r\n`);
    await until(() => seen.ended);
    assert.deepEqual(replies(seen.text), ["HTTP/1.1 400", "HTTP/1.1 200"], seen.text);
    assert.match(seen.text, /"version"/);
    socket.end();
    await closed;
    assert.deepEqual(seen.errors, []);
  });

  it("a body refused for its size, the client asking to close: the 413, the server's FIN, then the rest of the body is read, never reset", async () => {
    const { socket, seen, until, closed } = rawConnection(served.gateway.url);
    const body = `{"model":"tiny","prompt":"${"x".repeat(1 << 20)}"}`;
    socket.write(
      [
        "POST /api/generate HTTP/1.1",
        `Host: ${new URL(served.gateway.url).host}`,
        "Content-Type: application/json",
        `Content-Length: ${Buffer.byteLength(body)}`,
        "Connection: close",
        "",
        "",
      ].join("\r\n"),
    );
    socket.write(body.slice(0, firstPart));
    await until(() => seen.ended);
    assert.match(seen.text, /^HTTP\/1\.1 413 /);
    assert.match(seen.text, /request body too large/);
    socket.end(body.slice(firstPart));
    await closed;
    assert.deepEqual(seen.errors, []);
  });

  it("a body that keeps coming after the reply, the connection kept alive (a GET's, one refused for its Host before the app): the server's FIN, never read for as long as the client sends", async () => {
    const host = new URL(served.gateway.url).host;
    for (const [head, status] of [
      [["GET /api/version HTTP/1.1", `Host: ${host}`], /^HTTP\/1\.1 200 /],
      [["POST /api/copy HTTP/1.1", "Host: [::ffff:127.0.0.1]", "Content-Type: application/json"], /^HTTP\/1\.1 400 [^]*\{"error":"bad request: invalid host header"\}/],
    ] as const) {
      const connection = rawConnection(served.gateway.url);
      await trickleEndlessly(connection, [...head]);
      assert.match(connection.seen.text, status);
      assert.ok(connection.seen.ended, `the server still reads the body of ${head[0]} after a minute`);
      connection.socket.destroy();
    }
  });
});

describe("a shutdown while a body the reply came before keeps coming", () => {
  it("SIGTERM: the gateway exits, not waiting out its grace (ten minutes here) on that connection", async () => {
    const gateway = await startGateway({ env: { MODELGATE_SHUTDOWN_GRACE: "600" } });
    try {
      const connection = rawConnection(gateway.url);
      const trickling = trickleEndlessly(connection, ["GET /api/version HTTP/1.1", `Host: ${new URL(gateway.url).host}`]);
      await connection.until(() => replies(connection.seen.text).length === 1);
      // SIGKILL after a minute: an exit code of null.
      assert.equal(await gateway.stop(60_000), 0);
      await trickling;
      connection.socket.destroy();
    } finally {
      await gateway.stop();
    }
  });
});

