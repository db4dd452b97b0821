import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startGateway, type GatewayProcess } from "../support/gateway.ts";

describe("the gateway process", () => {
  let gateway: GatewayProcess;
  before(async () => {
    gateway = await startGateway();
  });
  after(async () => {
    await gateway?.stop();
  });

  it("listens on loopback", () => {
    assert.match(gateway.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it("answers GET / with Ollama's liveness text", async () => {
    const response = await fetch(`${gateway.url}/`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain/);
    assert.equal(await response.text(), "Ollama is running");
  });

  it("answers HEAD / with the same status and no body", async () => {
    const response = await fetch(`${gateway.url}/`, { method: "HEAD" });
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain/);
    assert.equal(await response.text(), "");
  });

  it("exits cleanly on SIGTERM", async () => {
    assert.equal(await gateway.stop(), 0);
  });
});
