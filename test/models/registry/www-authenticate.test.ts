import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseWWWAuthenticate } from "../../../src/models/registry/www-authenticate.ts";

describe("parseWWWAuthenticate", () => {
  it("reads a bearer challenge with a scope holding commas", () => {
    assert.deepEqual(
      parseWWWAuthenticate('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull,push"'),
      [{ scheme: "bearer", params: { realm: "https://auth.docker.io/token", service: "registry.docker.io", scope: "repository:a/b:pull,push" } }],
    );
  });

  it("reads several challenges, unquoted values and escapes", () => {
    assert.deepEqual(parseWWWAuthenticate('Basic realm="x", Bearer realm=y, error="invalid_\\"token\\""'), [
      { scheme: "basic", params: { realm: "x" } },
      { scheme: "bearer", params: { realm: "y", error: 'invalid_"token"' } },
    ]);
  });

  it("yields nothing for an empty header", () => {
    assert.deepEqual(parseWWWAuthenticate(""), []);
  });
});
