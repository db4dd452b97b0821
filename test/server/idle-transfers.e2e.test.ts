/**
 * Slow and stalled clients, and many large bodies at once, against the real
 * gateway process with raw sockets: an upload that keeps moving is never
 * cut (Node's 5-minute request limit is off), a body that stops moving is
 * cut with a 408, a client that stops reading a stream loses it and its
 * runner lease, and request bodies share one buffer budget.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { connect, type Socket } from "node:net";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { startGateway, type GatewayProcess } from "../support/gateway.ts";
import { eventually } from "../support/eventually.ts";
import { spawnTied } from "../support/processes.ts";

interface RawExchange {
  readonly socket: Socket;
  /** Everything the server sent, once it closed the connection. */
  readonly reply: Promise<string>;
  /** Bytes received so far. */
  received(): number;
}

/** Opens a connection to the gateway and sends `head` (and `body`, if any) as they are. */
function raw(gateway: GatewayProcess, head: string, body = ""): RawExchange {
  const { hostname, port } = new URL(gateway.url);
  const socket = connect({ host: hostname, port: Number(port) });
  const chunks: Buffer[] = [];
  let received = 0;
  socket.on("data", (chunk: Buffer) => {
    chunks.push(chunk);
    received += chunk.length;
  });
  const reply = new Promise<string>((resolve) => socket.on("close", () => resolve(Buffer.concat(chunks).toString("utf8"))));
  socket.on("error", () => {}); // a reset ends the reply like a close
  socket.write(head + body);
  return { socket, reply, received: () => received };
}

function postHead(path: string, length: number, type = "application/octet-stream"): string {
  return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${type}\r\nContent-Length: ${length}\r\n\r\n`;
}

describe("idle timeouts and the body budget (no engine needed)", () => {
  let gateway: GatewayProcess;
  before(async () => {
    gateway = await startGateway({
      env: { MODELGATE_BODY_TIMEOUT: "1s", MODELGATE_MAX_BODY_BYTES: "1000000", MODELGATE_MAX_BUFFERED_BYTES: "1500000" },
    });
  });
  after(() => gateway?.stop());

  it("an upload that keeps sending is never cut, however long it takes in all", async () => {
    const blob = Buffer.from("sixteen bytes!!!");
    const digest = `sha256:${createHash("sha256").update(blob).digest("hex")}`;
    const upload = raw(gateway, postHead(`/api/blobs/${digest}`, blob.length));
    // One byte at a time, each within the idle timeout, together well past it.
    for (const byte of blob) {
      await sleep(250);
      upload.socket.write(Buffer.of(byte));
    }
    await eventually(async () => upload.received() > 0, "the reply");
    upload.socket.end();
    assert.match(await upload.reply, /^HTTP\/1\.1 201 /);
  });

  it("a request body that stops moving is cut with a 408 and an error, and the gateway serves on", async () => {
    const digest = `sha256:${"0".repeat(64)}`;
    const dribbler = raw(gateway, postHead(`/api/blobs/${digest}`, 1000), "x".repeat(10));
    const reply = await dribbler.reply;
    assert.match(reply, /^HTTP\/1\.1 408 /);
    assert.match(reply.slice(reply.indexOf("\r\n\r\n") + 4), /^\{"error":"request body timed out: no data for 1s"\}$/);
    const json = raw(gateway, postHead("/api/chat", 100, "application/json"), "{");
    assert.match(await json.reply, /^HTTP\/1\.1 408 /, "on JSON routes too");
    assert.equal((await fetch(`${gateway.url}/api/version`)).status, 200);
  });

  it("bodies past the shared budget get a 503 with an error until the bodies held are done", async () => {
    const big = JSON.stringify({ model: "tiny", prompt: "x".repeat(899_000) });
    const post = () => fetch(`${gateway.url}/api/generate`, { method: "POST", headers: { "content-type": "application/json" }, body: big });
    // Holds its declared 900 kB of the 1.5 MB budget while it sends slowly.
    const holder = raw(gateway, postHead("/api/generate", big.length, "application/json"), big.slice(0, 10));
    const keepAlive = setInterval(() => holder.socket.write(" "), 200);
    try {
      await eventually(async () => (await post()).status === 503, "a second large body to be refused");
      const refused = await post();
      assert.equal(refused.status, 503);
      assert.match(((await refused.json()) as { error: string }).error, /server busy.*MODELGATE_MAX_BUFFERED_BYTES/);
      const small = await fetch(`${gateway.url}/api/show`, { method: "POST", body: JSON.stringify({ model: "tiny" }) });
      assert.notEqual(small.status, 503, "a small body fits beside it");
    } finally {
      clearInterval(keepAlive);
      holder.socket.destroy();
    }
    await eventually(async () => (await post()).status !== 503, "the budget to be given back");
  });
});

/**
 * A client that reads the start of a reply and then nothing, with a receive
 * buffer of a few kB (Node cannot set one; Perl, always on Debian, can): so
 * the buffers between it and the gateway fill after a few chunks, even when
 * the engine crawls on a busy machine.
 */
const stalledReader = `
use Socket;
$| = 1;
my ($port, $body) = @ARGV;
socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
setsockopt($s, SOL_SOCKET, SO_RCVBUF, pack("i", 2048)) or die "setsockopt: $!";
connect($s, sockaddr_in($port, inet_aton("127.0.0.1"))) or die "connect: $!";
syswrite($s, "POST /engines/v1/chat/completions HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nContent-Type: application/json\\r\\nContent-Length: " . length($body) . "\\r\\n\\r\\n" . $body);
sysread($s, my $start, 1) or die "no reply";
print "reading no more\\n";
sleep 600;
`;

describe("a client that stops reading a stream (real engine)", () => {
  let gateway: GatewayProcess;
  before(async () => {
    gateway = await startGateway({ env: { MODELGATE_SEND_TIMEOUT: "2s", MODELGATE_MAX_LOADED_MODELS: "1" } });
  });
  after(() => gateway?.stop());

  it("loses its stream after the send timeout, and its runner lease goes to the request waiting for it", async () => {
    // 1000 alternatives per token: about 90 kB a token, so the buffers fill within tens of tokens, even on a busy machine.
    const body = JSON.stringify({
      model: "tiny", messages: [{ role: "user", content: "Say something." }], stream: true, max_tokens: 100_000, logprobs: true, top_logprobs: 1000,
    });
    const reader = await spawnTied("perl", ["-e", stalledReader, new URL(gateway.url).port, body], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      const said = createInterface({ input: reader.stdout! })[Symbol.asyncIterator]();
      assert.equal((await said.next()).value, "reading no more");
      // With one model loaded at a time, tiny-tools needs tiny's runner gone, so its lease released.
      const waiting = await fetch(`${gateway.url}/api/chat`, {
        method: "POST",
        body: JSON.stringify({ model: "tiny-tools", messages: [{ role: "user", content: "hi" }], stream: false, options: { num_predict: 2 } }),
      });
      const reply = (await waiting.json()) as { done?: boolean; error?: string };
      assert.equal(waiting.status, 200, reply.error);
      assert.equal(reply.done, true);
      assert.ok(gateway.logs.some((line) => line.msg === "client stopped reading: response cut"), "the cut is logged");
    } finally {
      reader.kill();
    }
  });
});
