import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { describe, it } from "node:test";
import { watchIdleTransfers } from "../../src/server/idle-transfers.ts";

/** Writes 64 kB pieces as fast as the client takes them (waiting for drain, as @hono/node-server does) until the response closes. */
async function stream(response: ServerResponse): Promise<void> {
  response.writeHead(200, { "content-type": "application/octet-stream" });
  const piece = Buffer.alloc(64 * 1024, 120);
  while (!response.destroyed) {
    if (!response.write(piece)) await Promise.race([once(response, "drain"), once(response, "close")]);
  }
}

describe("watchIdleTransfers", () => {
  it("cuts a response whose client stopped reading, and only then", async () => {
    const cuts: string[] = [];
    const closed: Promise<unknown>[] = [];
    const server = createServer((_request, response) => {
      closed.push(once(response, "close"));
      void stream(response);
    });
    watchIdleTransfers(server, { receiveIdleMs: 0, sendIdleMs: 300, onCut: ({ direction }) => cuts.push(direction) });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as AddressInfo;
    try {
      const client = connect({ host: "127.0.0.1", port });
      client.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
      await once(client, "data");
      client.pause();
      await closed[0];
      assert.deepEqual(cuts, ["send"]);
      client.destroy();
    } finally {
      server.close();
    }
  });
});
