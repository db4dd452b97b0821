/**
 * One external engine against stand-in OpenAI servers on loopback: what goes
 * over the wire (path, key, model name), which models it serves, and
 * failover before the first byte. The real engine is in the e2e test.
 */
import assert from "node:assert/strict";
import { json, text } from "node:stream/consumers";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import { pino } from "pino";
import { createExternalEngine, type ExternalEngine } from "../../../src/scheduling/external/external-engine.ts";
import { parseExternalEngines } from "../../../src/scheduling/external/external-config.ts";
import { NoReplicaAvailableError } from "../../../src/scheduling/external/no-replica-error.ts";

interface Received {
  readonly path: string;
  readonly authorization: string | undefined;
  readonly body: Record<string, unknown>;
}

/** A stand-in replica listing `models`; it answers chat requests with what it received, or drops them (`flaky`). */
async function standIn(models: string[], options: { flaky?: boolean } = {}) {
  const received: Received[] = [];
  const server: Server = createServer(async (request: IncomingMessage, response) => {
    if (request.method === "GET" && request.url?.endsWith("/v1/models")) {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ object: "list", data: models.map((id) => ({ id, object: "model" })) }));
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    received.push({ path: request.url ?? "", authorization: request.headers.authorization, body: JSON.parse(Buffer.concat(chunks).toString()) });
    if (options.flaky) {
      request.socket.destroy(); // before any byte of a response
      return;
    }
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ object: "chat.completion", received: received.at(-1) }));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, server };
}

const engines: ExternalEngine[] = [];
const servers: Server[] = [];
after(async () => {
  await Promise.all(engines.map((engine) => engine.close()));
  for (const server of servers) server.close();
});

async function engine(config: Record<string, unknown>): Promise<ExternalEngine> {
  const [parsed] = parseExternalEngines(JSON.stringify({ engines: [{ health_interval_seconds: 3600, ...config }] }), "test");
  const created = createExternalEngine({ config: parsed!, logger: pino({ level: "silent" }) });
  engines.push(created);
  await created.refresh(); // shares the first poll
  return created;
}

function chat(model: string) {
  return {
    method: "POST",
    path: "/v1/chat/completions",
    headers: { "content-type": "application/json" },
    body: new TextEncoder().encode(JSON.stringify({ model, messages: [] })),
    signal: new AbortController().signal,
  };
}

describe("external engine", () => {
  it("serves its allow-listed models under its prefix, and sends the key, the base path and the engine's own name", async () => {
    const replica = await standIn(["Org/Model-A", "model-b"]);
    servers.push(replica.server);
    const remote = await engine({ name: "r", urls: [`${replica.url}/base/v1`], api_key: "k-1", models: ["org/model-a"], prefix: "gpu/" });
    assert.deepEqual(remote.models().map((model) => model.name), ["gpu/Org/Model-A"]);
    assert.equal(remote.find("model-b"), undefined, "not allow-listed");
    const model = remote.find("GPU/org/model-a:latest");
    assert.ok(model, "found in any case, with or without :latest");
    assert.match(model.object.digest, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(model.object.capabilities, ["completion"]);

    const response = await remote.forward(model, chat("gpu/org/model-a:latest"));
    assert.equal(response.status, 200);
    const { received } = (await json(response.body)) as { received: Received };
    assert.deepEqual(received, {
      path: "/base/v1/chat/completions",
      authorization: "Bearer k-1",
      body: { model: "Org/Model-A", messages: [] },
    });
  });

  it("sends a request whose replica drops it before answering to the next, and marks that replica down", async () => {
    const flaky = await standIn(["m"], { flaky: true });
    const steady = await standIn(["m"]);
    servers.push(flaky.server, steady.server);
    const remote = await engine({ name: "pair", urls: [flaky.url, steady.url] });
    const model = remote.find("m")!;
    for (let i = 0; i < 2; i += 1) {
      const response = await remote.forward(model, chat("m"));
      assert.equal(response.status, 200);
      await text(response.body); // the request is outstanding until its body is read
    }
    assert.equal(flaky.received.length, 1, "tried once (it was first in turn), then down");
    assert.equal(steady.received.length, 2);
    assert.match(remote.status(), /1\/2 replicas up: http:\/\/127\.0\.0\.1:\d+ down: other side closed; http:\/\/127\.0\.0\.1:\d+ up, 0 in flight/);

    steady.server.closeAllConnections();
    steady.server.close();
    await assert.rejects(remote.forward(model, chat("m")), (error: Error) => {
      assert.ok(error instanceof NoReplicaAvailableError);
      assert.match(error.message, /^external engine pair has no replica up for m \(http:\/\/\S+: other side closed; http:\/\/\S+: connect ECONNREFUSED/);
      return true;
    });
  });
});
