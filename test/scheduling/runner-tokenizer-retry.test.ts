/**
 * Unit test of runner-tokenizer over a Unix socket: a runner that closes
 * the connection under a /tokenize request (llama-server ending a kept-alive
 * connection as it is reused) is asked again, instead of failing the
 * client's request with undici's "other side closed".
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { Agent } from "undici";
import { tokenize } from "../../src/scheduling/runner-tokenizer.ts";

it("tokenize: a runner that closes the connection under the request is asked again on a fresh one", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tokenizer-retry-"));
  const socketPath = join(dir, "runner.sock");
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    const first = connections === 1;
    socket.once("data", () => {
      if (first) return void socket.destroy(); // closed under the request, as a kept-alive connection may be
      const body = JSON.stringify({ tokens: [1, 2, 3] });
      socket.end(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  const dispatcher = new Agent({ connect: { socketPath } });
  try {
    assert.deepEqual(await tokenize(dispatcher, "hi", new AbortController().signal), [1, 2, 3]);
    assert.equal(connections, 2);
  } finally {
    await dispatcher.close();
    server.close();
    await rm(dir, { recursive: true, force: true });
  }
});
