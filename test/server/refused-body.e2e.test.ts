/**
 * A body refused for its size before it is read: the client still writing it
 * must get the 413, not EPIPE, and may send its next request on the same
 * connection. The gateway closed such connections at once, with bytes unread,
 * so the kernel reset them: in one full run the hostile-input fuzz met EPIPE
 * once (an 800 KB body to /api/create); a 4 MB body failed about one time in two.
 */
import assert from "node:assert/strict";
import { Agent, request as httpRequest } from "node:http";
import { describe, it } from "node:test";
import { useGateway } from "../support/gateway.ts";

const maxBodyBytes = 256 * 1024;
/** Far past the limit and past what loopback buffers hold, so the client is still writing when the reply comes. */
const depth = 700_000;
const body = `{"model":"x","from":"tiny","parameters":${'{"a":'.repeat(depth)}1${"}".repeat(depth)}}`;
const tooLarge = { error: `request body too large (limit ${maxBodyBytes} bytes, MODELGATE_MAX_BODY_BYTES)` };

describe("a body over the limit, refused unread", () => {
  const served = useGateway({ env: { MODELGATE_MAX_BODY_BYTES: String(maxBodyBytes) } });

  it("fetch gets Ollama's 413 every time, never EPIPE", async () => {
    const failures: string[] = [];
    for (let i = 0; i < 20; i++) {
      try {
        const reply = await fetch(`${served.gateway.url}/api/create`, { method: "POST", headers: { "content-type": "application/json" }, body });
        assert.equal(reply.status, 413);
        assert.deepEqual(await reply.json(), tooLarge);
      } catch (error) {
        failures.push(`${i}: ${(error as Error).message} ${String((error as Error).cause ?? "")}`);
      }
    }
    assert.deepEqual(failures, []);
  });

  it("the connection carries the next request after the refusal", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const { hostname, port } = new URL(served.gateway.url);
    const send = (method: string, path: string, payload?: string) =>
      new Promise<{ status: number; text: string; port: number | undefined }>((resolve, reject) => {
        const request = httpRequest({ hostname, port, agent, method, path, headers: { "content-type": "application/json" } }, (reply) => {
          let text = "";
          const port = reply.socket.localPort;
          reply.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
          reply.on("end", () => resolve({ status: reply.statusCode ?? 0, text, port }));
          reply.on("error", reject);
        });
        request.on("error", reject);
        request.end(payload);
      });
    try {
      const refused = await send("POST", "/api/create", body);
      assert.equal(refused.status, 413);
      assert.deepEqual(JSON.parse(refused.text), tooLarge);
      const next = await send("GET", "/api/version");
      assert.equal(next.status, 200);
      assert.equal(next.port, refused.port, "the next request went out on the refused request's connection");
    } finally {
      agent.destroy();
    }
  });
});
