import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { listenAddressUrl, parseListenAddress } from "../../src/server/listen-address.ts";

describe("parseListenAddress", () => {
  const cases: Record<string, { hostname: string; port: number }> = {
    "": { hostname: "127.0.0.1", port: 11434 },
    "0.0.0.0": { hostname: "0.0.0.0", port: 11434 },
    "0.0.0.0:8080": { hostname: "0.0.0.0", port: 8080 },
    ":9000": { hostname: "127.0.0.1", port: 9000 },
    "http://localhost:1234": { hostname: "localhost", port: 1234 },
    "https://example.test/": { hostname: "example.test", port: 11434 },
    "[::1]:11435": { hostname: "::1", port: 11435 },
    "[::]": { hostname: "::", port: 11434 },
    "::1": { hostname: "::1", port: 11434 },
    "127.0.0.1:0": { hostname: "127.0.0.1", port: 0 },
  };
  for (const [input, expected] of Object.entries(cases)) {
    it(`reads ${JSON.stringify(input)}`, () => assert.deepEqual(parseListenAddress(input), expected));
  }

  it("rejects a bad port", () => {
    assert.throws(() => parseListenAddress("localhost:http"), /invalid port/);
    assert.throws(() => parseListenAddress("localhost:70000"), /invalid port/);
  });

  it("writes IPv6 addresses in brackets", () => {
    assert.equal(listenAddressUrl({ hostname: "::1", port: 80 }), "http://[::1]:80");
    assert.equal(listenAddressUrl({ hostname: "127.0.0.1", port: 11434 }), "http://127.0.0.1:11434");
  });
});
