import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { json } from "node:stream/consumers";
import { join } from "node:path";
import { it } from "node:test";
import { Agent } from "undici";
import type { ResolvedModel } from "../../src/models/model-resolver.ts";
import type { Lease } from "../../src/scheduling/loader.ts";
import { toOpenAIError } from "../../src/scheduling/openai-error.ts";
import { MisdirectedRequestError, forwardToRunner } from "../../src/scheduling/runner-proxy.ts";

const model = (name: string, id: string) => ({ name, id }) as ResolvedModel;

it("answers 421 when a request reaches a runner serving another model, and releases the lease", async () => {
  let released = 0;
  const lease = {
    model: model("tiny:latest", "sha256:aaa"),
    requested: model("other:latest", "sha256:bbb"),
    dispatcher: new Agent(),
    release: () => void released++,
  } as unknown as Lease;
  const error = await forwardToRunner(lease, {
    method: "POST",
    path: "/v1/chat/completions",
    headers: {},
    body: null,
    signal: new AbortController().signal,
  }).catch((caught: unknown) => caught);
  assert.ok(error instanceof MisdirectedRequestError);
  assert.match(error.message, /serves tiny:latest, not other:latest/);
  assert.equal(toOpenAIError(error).status, 421);
  assert.equal(released, 1);
});

/**
 * An engine on a Unix socket that answers each connection's first request,
 * keeps the connection, and closes it unannounced when its next request
 * arrives, as llama-server's extra HTTP threads do to a reused connection.
 */
async function closingEngine() {
  const dir = await mkdtemp(join(tmpdir(), "runner-proxy-"));
  const socket = join(dir, "engine.sock");
  let connections = 0;
  let answered = 0;
  const server = createServer((connection) => {
    connections++;
    let requests = 0;
    connection.on("data", () => {
      if (++requests > 1) return connection.destroy();
      answered++;
      connection.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\nKeep-Alive: timeout=5\r\n\r\n{\"ok\":true}");
    });
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return {
    socket,
    stats: () => ({ connections, answered }),
    async close() {
      await new Promise((resolve) => server.close(resolve));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function leaseOn(dispatcher: Agent) {
  const same = model("tiny:latest", "sha256:aaa");
  return { model: same, requested: same, dispatcher, signal: new AbortController().signal, release: () => {} } as unknown as Lease;
}

const post = (reuseConnections: boolean) => ({
  method: "POST",
  path: "/v1/chat/completions",
  headers: { "content-type": "application/json" },
  body: new TextEncoder().encode("{}"),
  signal: new AbortController().signal,
  reuseConnections,
});

it("sends again, on another connection, a request whose kept-alive connection the engine closed", async () => {
  const engine = await closingEngine();
  const dispatcher = new Agent({ connect: { socketPath: engine.socket } });
  try {
    for (let i = 0; i < 3; i++) {
      const response = await forwardToRunner(leaseOn(dispatcher), post(true));
      assert.equal(response.status, 200);
      assert.deepEqual(await json(response.body), { ok: true });
    }
    // Each reuse met a closed connection and went again on a new one.
    assert.deepEqual(engine.stats(), { connections: 3, answered: 3 });
  } finally {
    await dispatcher.close();
    await engine.close();
  }
});

it("without reuse, gives each request a connection of its own", async () => {
  const engine = await closingEngine();
  const dispatcher = new Agent({ connect: { socketPath: engine.socket } });
  try {
    for (let i = 0; i < 2; i++) assert.deepEqual(await json((await forwardToRunner(leaseOn(dispatcher), post(false))).body), { ok: true });
    assert.deepEqual(engine.stats(), { connections: 2, answered: 2 });
  } finally {
    await dispatcher.close();
    await engine.close();
  }
});
