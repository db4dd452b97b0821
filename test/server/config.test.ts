import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadConfig } from "../../src/server/config.ts";

describe("loadConfig: access settings", () => {
  it("has no API key and a 64 MiB body limit by default", () => {
    const config = loadConfig({});
    assert.equal(config.apiKey, undefined);
    assert.equal(config.maxBodyBytes, 64 * 1024 * 1024);
  });

  it("reads MODELGATE_API_KEY, an empty one meaning none", () => {
    assert.equal(loadConfig({ MODELGATE_API_KEY: "sk-abc.DEF_123~+/=" }).apiKey, "sk-abc.DEF_123~+/=");
    assert.equal(loadConfig({ MODELGATE_API_KEY: "" }).apiKey, undefined);
  });

  it("refuses a key no client could send as a bearer token", () => {
    for (const bad of ["has space", "quote\"", "a,b", "é", "=leading"]) {
      assert.throws(() => loadConfig({ MODELGATE_API_KEY: bad }), /MODELGATE_API_KEY/, bad);
    }
  });

  it("reads MODELGATE_MAX_BODY_BYTES as a positive integer", () => {
    assert.equal(loadConfig({ MODELGATE_MAX_BODY_BYTES: "1048576" }).maxBodyBytes, 1048576);
    for (const bad of ["0", "-1", "1e6", "64MiB"]) {
      assert.throws(() => loadConfig({ MODELGATE_MAX_BODY_BYTES: bad }), /MODELGATE_MAX_BODY_BYTES/, bad);
    }
  });
});

describe("loadConfig: the Responses store", () => {
  it("keeps 1000 responses for an hour by default; both bounds are settable, never negative", () => {
    const defaults = loadConfig({});
    assert.equal(defaults.responsesMaxStored, 1000);
    assert.equal(defaults.responsesMaxAgeMs, 3_600_000);
    const set = loadConfig({ MODELGATE_RESPONSES_MAX_STORED: "0", MODELGATE_RESPONSES_TTL: "10m" });
    assert.equal(set.responsesMaxStored, 0);
    assert.equal(set.responsesMaxAgeMs, 600_000);
    assert.throws(() => loadConfig({ MODELGATE_RESPONSES_TTL: "-1h" }), /MODELGATE_RESPONSES_TTL/);
    assert.throws(() => loadConfig({ MODELGATE_RESPONSES_MAX_STORED: "-3" }), /MODELGATE_RESPONSES_MAX_STORED/);
  });
});

describe("loadConfig: load timeout", () => {
  it("reads the load timeout as a Go duration or seconds, MODELGATE_ before OLLAMA_", () => {
    assert.equal(loadConfig({}).loadTimeoutMs, undefined);
    assert.equal(loadConfig({ MODELGATE_LOAD_TIMEOUT: "1m30s", OLLAMA_LOAD_TIMEOUT: "5m" }).loadTimeoutMs, 90_000);
    assert.equal(loadConfig({ OLLAMA_LOAD_TIMEOUT: "2" }).loadTimeoutMs, 2_000);
  });

  it("refuses a load timeout that is not a positive duration, naming the variable", () => {
    for (const value of ["0", "-1s", "soon"]) {
      assert.throws(() => loadConfig({ MODELGATE_LOAD_TIMEOUT: value }), /MODELGATE_LOAD_TIMEOUT/);
    }
  });

  it("bounds buffered bodies (256 MiB) and idle transfers (60 s each) by default, configurable", () => {
    const defaults = loadConfig({});
    assert.equal(defaults.maxBufferedBytes, 256 * 1024 * 1024);
    assert.equal(defaults.bodyIdleTimeoutMs, 60_000);
    assert.equal(defaults.sendIdleTimeoutMs, 60_000);
    const set = loadConfig({ MODELGATE_MAX_BUFFERED_BYTES: "1048576", MODELGATE_MAX_BODY_BYTES: "1024", MODELGATE_BODY_TIMEOUT: "2m", MODELGATE_SEND_TIMEOUT: "2s" });
    assert.deepEqual([set.maxBufferedBytes, set.bodyIdleTimeoutMs, set.sendIdleTimeoutMs], [1048576, 120_000, 2_000]);
    assert.equal(loadConfig({ MODELGATE_SEND_TIMEOUT: "0" }).sendIdleTimeoutMs, 0, "0 turns it off");
    assert.throws(() => loadConfig({ MODELGATE_SEND_TIMEOUT: "-1s" }), /MODELGATE_SEND_TIMEOUT/);
    assert.throws(() => loadConfig({ MODELGATE_MAX_BUFFERED_BYTES: "1024" }), /MODELGATE_MAX_BUFFERED_BYTES \(1024\) must be at least MODELGATE_MAX_BODY_BYTES/);
  });
});

describe("loadConfig: default context length", () => {
  it("reads MODELGATE_CONTEXT_LENGTH, else OLLAMA_CONTEXT_LENGTH; 0 or unset leaves it to the engine", () => {
    assert.equal(loadConfig({}).contextLength, undefined);
    assert.equal(loadConfig({ OLLAMA_CONTEXT_LENGTH: "0" }).contextLength, undefined);
    assert.equal(loadConfig({ OLLAMA_CONTEXT_LENGTH: "8192" }).contextLength, 8192);
    assert.equal(loadConfig({ MODELGATE_CONTEXT_LENGTH: "2048", OLLAMA_CONTEXT_LENGTH: "8192" }).contextLength, 2048);
    assert.throws(() => loadConfig({ MODELGATE_CONTEXT_LENGTH: "lots" }), /MODELGATE_CONTEXT_LENGTH/);
  });
});
