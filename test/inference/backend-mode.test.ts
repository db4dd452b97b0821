import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { backendModes, parseBackendMode } from "../../src/inference/index.ts";

describe("BackendMode", () => {
  it("parses the known modes", () => {
    for (const mode of backendModes) assert.deepEqual(parseBackendMode(mode), { mode, known: true });
  });

  it("maps unknown modes to completion with known=false", () => {
    for (const name of ["", "Completion", "embeddings", "chat", "__proto__"]) {
      assert.deepEqual(parseBackendMode(name), { mode: "completion", known: false });
    }
  });

  it("serialises to the lowercase name", () => {
    assert.equal(JSON.stringify({ mode: parseBackendMode("reranking").mode }), '{"mode":"reranking"}');
  });
});
