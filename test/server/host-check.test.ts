import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Hono } from "hono";
import { hostCheck } from "../../src/server/host-check.ts";

function checkedApp(hosts?: string[]) {
  const app = new Hono();
  app.use("*", hostCheck({ listenHostname: "127.0.0.1", ...(hosts ? { hosts } : {}) }));
  app.get("/", (c) => c.text("ok"));
  return async (host: string) => (await app.request("/", { headers: { host } })).status;
}

describe("hostCheck", () => {
  it("gives a Host the same answer every time it comes, served or refused, past the Host values it remembers", async () => {
    const status = checkedApp(["gateway.lan"]);
    for (let round = 0; round < 3; round += 1) {
      for (const host of ["127.0.0.1:11434", "localhost", "[::1]:8080", "gateway.lan", "box.internal"]) assert.equal(await status(host), 200, host);
      for (const host of ["evil.example", "8.8.8.8", "127.0.0.1.nip.io"]) assert.equal(await status(host), 403, host);
    }
    // More distinct local hosts than are remembered: each is still served, and a foreign one still refused.
    for (let port = 1; port <= 100; port += 1) assert.equal(await status(`127.0.0.1:${port}`), 200);
    assert.equal(await status("evil.example:80"), 403);
    assert.equal(await status("127.0.0.1:7"), 200);
  });
});
