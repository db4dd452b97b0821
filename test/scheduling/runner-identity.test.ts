import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Agent } from "undici";
import { checkRunnerServes, ForeignRunnerError } from "../../src/scheduling/runner-identity.ts";

/** An engine on a Unix socket whose `GET /v1/models` answers `models` (a status alone when a number). */
async function engineServing(models: unknown): Promise<{ agent: Agent; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "mg-identity-"));
  const socket = join(dir, "runner.sock");
  const server: Server = createServer((_request, response) => {
    if (typeof models === "number") return void response.writeHead(models).end();
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(models));
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  const agent = new Agent({ connect: { socketPath: socket } });
  return {
    agent,
    async close() {
      await agent.close();
      await new Promise((resolve) => server.close(resolve));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

describe("checkRunnerServes", () => {
  const engines: { close(): Promise<void> }[] = [];
  after(() => Promise.all(engines.map((engine) => engine.close())));
  const check = async (models: unknown) => {
    const engine = await engineServing(models);
    engines.push(engine);
    return checkRunnerServes(engine.agent, "tiny:latest", AbortSignal.timeout(10_000));
  };

  it("passes an engine that lists the name it was started with", async () => {
    await check({ object: "list", data: [{ id: "tiny:latest" }] });
    await check({ data: [{ id: "tiny:latest" }, { id: "sha256:abc" }] });
  });

  it("refuses an engine that serves other models: a socket path is not an identity", async () => {
    await assert.rejects(check({ data: [{ id: "tiny-tools:latest" }] }), (error: unknown) => {
      assert.ok(error instanceof ForeignRunnerError);
      assert.match(error.message, /serves tiny-tools:latest, not tiny:latest/);
      return true;
    });
  });

  it("passes an engine that lists no models", async () => {
    await check(404);
    await check({ data: [] });
  });
});
