/**
 * Who gets in: the optional API key (`MODELGATE_API_KEY`) and CORS
 * (`OLLAMA_ORIGINS`; the refusals themselves in browser-attacks.e2e) on every front door of the real gateway, driven by the
 * real `openai` and `ollama` clients; and the runner sockets' directory.
 */
import assert from "node:assert/strict";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Ollama } from "ollama";
import OpenAI from "openai";
import { useGateway } from "../support/gateway.ts";

const key = "mg-test.Key_0123456789";
const allowedOrigin = "https://chat.example.com";

/** One route of each kind and front door, with a body that would be valid once authenticated. */
const guarded: ReadonlyArray<readonly [method: string, path: string, body?: unknown]> = [
  ["GET", "/api/tags"],
  ["GET", "/api/ps"],
  ["POST", "/api/show", { model: "tiny" }],
  ["POST", "/api/chat", { model: "tiny", messages: [{ role: "user", content: "hi" }], stream: false }],
  ["POST", "/api/pull", { model: "tiny", stream: false }],
  ["DELETE", "/api/delete", { model: "tiny" }],
  ["GET", "/v1/models"],
  ["POST", "/v1/chat/completions", { model: "tiny", messages: [{ role: "user", content: "hi" }] }],
  ["GET", "/engines/status"],
  ["GET", "/exp/vDD4.40/engines/v1/models"],
  ["POST", "/engines/unload", { all: true }],
  ["GET", "/models"],
  ["GET", "/metrics"],
  ["POST", "/", {}],
  ["POST", "/api/version", {}],
];

/** OpenAI's error shape on the engines paths, Ollama's elsewhere. */
const openAIShaped = (path: string) => /^\/(v1|engines|exp)\//.test(path);

describe("access control, through the real gateway", () => {
  const served = useGateway({ env: { MODELGATE_API_KEY: key, OLLAMA_ORIGINS: allowedOrigin } });
  const call = (method: string, path: string, init: { body?: unknown; headers?: Record<string, string> } = {}) =>
    fetch(`${served.gateway.url}${path}`, {
      method,
      headers: init.headers ?? {},
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });

  it("answers the liveness and version probes without a key", async () => {
    for (const method of ["GET", "HEAD"]) {
      for (const path of ["/", "/api/version"]) {
        const response = await call(method, path);
        await response.arrayBuffer();
        assert.equal(response.status, 200, `${method} ${path}`);
      }
    }
  });

  it("refuses every other route with a 401 and an error body when the key is missing, wrong or malformed", async () => {
    const attempts: ReadonlyArray<Record<string, string>> = [
      {},
      { Authorization: "Bearer wrong-key" },
      { Authorization: `Bearer ${key}x` },
      { Authorization: `Basic ${Buffer.from(`user:${key}`).toString("base64")}` },
      { Authorization: `Bearer ${key} extra` },
      { Authorization: key },
    ];
    for (const [method, path, body] of guarded) {
      for (const headers of attempts) {
        const response = await call(method, path, { body, headers });
        const text = await response.text();
        assert.equal(response.status, 401, `${method} ${path} with ${JSON.stringify(headers)}: ${text}`);
        const { error } = JSON.parse(text) as { error: unknown };
        if (openAIShaped(path)) assert.equal((error as { code: string }).code, "invalid_api_key", text);
        else assert.equal(typeof error, "string", text);
      }
    }
  });

  it("lets the key through on every route", async () => {
    for (const [method, path] of guarded.filter(([method]) => method === "GET")) {
      const response = await call(method, path, { headers: { Authorization: `Bearer ${key}` } });
      await response.arrayBuffer();
      assert.equal(response.status, 200, `${method} ${path}`);
    }
  });

  it("the openai client with apiKey gets a completion; with another key, a 401", async () => {
    const client = (apiKey: string) => new OpenAI({ baseURL: `${served.gateway.url}/v1`, apiKey, maxRetries: 0, timeout: 60_000 });
    const completion = await client(key).chat.completions.create({
      model: "tiny",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 3,
    });
    assert.equal(completion.choices.length, 1);
    await assert.rejects(client("not-the-key").models.list(), (error: unknown) => error instanceof OpenAI.AuthenticationError);
  });

  it("the ollama client with an Authorization header streams a chat; without it, a 401", async () => {
    const authorized = new Ollama({ host: served.gateway.url, headers: { Authorization: `Bearer ${key}` } });
    let done = 0;
    for await (const part of await authorized.chat({ model: "tiny", messages: [{ role: "user", content: "hi" }], stream: true, options: { num_predict: 3 } })) {
      if (part.done) done += 1;
    }
    assert.equal(done, 1);
    const anonymous = new Ollama({ host: served.gateway.url });
    await assert.rejects(anonymous.list(), (error: { status_code?: number }) => error.status_code === 401);
    assert.match((await anonymous.version()).version, /^\d+\.\d+\.\d+$/);
  });

  it("answers CORS preflights on every front door, before the key is asked for, for allowed origins only", async () => {
    for (const path of ["/api/chat", "/v1/chat/completions", "/engines/v1/chat/completions", "/v1/messages", "/models", "/api/tags"]) {
      for (const [origin, allowed] of [
        [allowedOrigin, true],
        ["http://localhost:3000", true],
        ["https://evil.example.net", false],
      ] as const) {
        const headers = { Origin: origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type" };
        const response = await call("OPTIONS", path, { headers });
        await response.arrayBuffer();
        // A foreign origin is refused outright, as Ollama's CORS middleware does (403).
        assert.equal(response.status, allowed ? 204 : 403, `OPTIONS ${path} from ${origin}`);
        assert.equal(response.headers.get("access-control-allow-origin"), allowed ? origin : null, `OPTIONS ${path} from ${origin}`);
      }
      const actual = await call("GET", "/v1/models", { headers: { Origin: allowedOrigin, Authorization: `Bearer ${key}` } });
      await actual.arrayBuffer();
      assert.equal(actual.headers.get("access-control-allow-origin"), allowedOrigin);
    }
  });

  it("keeps the runner sockets in a directory only the gateway's user can enter", async () => {
    const dir = join(served.gateway.home, "runners");
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
  });
});
