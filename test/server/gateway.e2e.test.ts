import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { useGateway } from "../support/gateway.ts";

describe("the gateway process", () => {
  const served = useGateway();

  it("listens on loopback", () => {
    assert.match(served.gateway.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it("answers GET / with Ollama's liveness text", async () => {
    const response = await fetch(`${served.gateway.url}/`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain/);
    assert.equal(await response.text(), "Ollama is running");
  });

  it("answers HEAD / with the same status and no body", async () => {
    const response = await fetch(`${served.gateway.url}/`, { method: "HEAD" });
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain/);
    assert.equal(await response.text(), "");
  });

  it("exits cleanly on SIGTERM", async () => {
    assert.equal(await served.gateway.stop(), 0);
  });
});
