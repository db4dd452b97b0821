/**
 * What a web page in the user's browser can make the real gateway do: a
 * cross-site "simple" request (`text/plain` POST, no preflight) from a
 * foreign `Origin`, and DNS rebinding (`Host: evil.example`). Both are
 * refused with a 403 before any handler runs, and nothing changes; clients
 * without `Origin` (CLIs, SDKs) and allowed pages are served as before.
 * Mirrors Ollama's CORS (envconfig's AllowedOrigins) and allowedHostsMiddleware.
 */
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { hostname } from "node:os";
import { describe, it } from "node:test";
import { useGateway } from "../support/gateway.ts";

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

/** Raw HTTP, so `Host` is whatever the test says (fetch would not let it be set). */
function send(base: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Reply> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers: { ...headers, ...(body === undefined ? {} : { "content-length": String(Buffer.byteLength(body)) }) } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** The writes a page found open: each as a browser sends it cross-site without a preflight. */
const writes: ReadonlyArray<readonly [method: string, path: string, body: unknown]> = [
  ["POST", "/api/create", { model: "evil-created", from: "tiny", system: "pwned" }],
  ["POST", "/api/copy", { source: "tiny", destination: "evil-copy" }],
  ["POST", "/engines/_configure", { model: "tiny", "context-size": 256 }],
  ["POST", "/engines/unload", { all: true }],
  ["DELETE", "/api/delete", { model: "tiny" }],
  ["POST", "/api/pull", { model: "127.0.0.1:9/admin/panel" }],
];

const foreign = "https://evil.example";

describe("browser attacks, through the real gateway (Ollama's CORS and allowedHostsMiddleware)", () => {
  const served = useGateway({ env: { OLLAMA_ORIGINS: "", MODELGATE_ORIGINS: "https://chat.example.com" } });
  const state = async () => {
    const base = served.gateway.url;
    const tags = await send(base, "GET", "/api/tags", {});
    const configuration = await send(base, "GET", "/engines/_configure?model=tiny", {});
    assert.equal(tags.status, 200, tags.text);
    assert.equal(configuration.status, 200, configuration.text);
    const names = (JSON.parse(tags.text) as { models: { name: string }[] }).models.map((model) => model.name).sort();
    return { names, configuration: configuration.text };
  };

  it("refuses a text/plain POST from a foreign Origin with a 403 {error} before any handler: nothing is created, copied, configured, unloaded or deleted", async () => {
    const before = await state();
    assert.ok(before.names.includes("tiny:latest"), before.names.join());
    for (const [method, path, body] of writes) {
      const reply = await send(served.gateway.url, method, path, { Origin: foreign, "Content-Type": "text/plain;charset=UTF-8" }, JSON.stringify(body));
      assert.equal(reply.status, 403, `${method} ${path}: ${reply.text}`);
      const { error } = JSON.parse(reply.text) as { error: unknown };
      const message = typeof error === "string" ? error : (error as { message: string }).message;
      assert.match(message, /origin "https:\/\/evil\.example" is not allowed/, `${method} ${path}`);
      assert.equal(reply.headers["access-control-allow-origin"], undefined);
    }
    assert.deepEqual(await state(), before);
  });

  it("refuses every route, reads included, from a foreign Origin, and a preflight from it too", async () => {
    for (const path of ["/", "/api/version", "/api/tags", "/v1/models", "/logs", "/metrics", "/models"]) {
      const reply = await send(served.gateway.url, "GET", path, { Origin: foreign });
      assert.equal(reply.status, 403, `GET ${path}: ${reply.text}`);
    }
    for (const origin of ["null", "http://localhost.evil.example", "https://127.0.0.1.evil.example:8080"]) {
      const reply = await send(served.gateway.url, "GET", "/api/tags", { Origin: origin });
      assert.equal(reply.status, 403, origin);
    }
    const preflight = await send(served.gateway.url, "OPTIONS", "/api/chat", { Origin: foreign, "Access-Control-Request-Method": "POST" });
    assert.equal(preflight.status, 403);
  });

  it("serves requests without Origin (CLIs, SDKs) as before: the copy a page could not make, a client makes", async () => {
    const copy = await send(served.gateway.url, "POST", "/api/copy", { "Content-Type": "application/json" }, JSON.stringify({ source: "tiny", destination: "cli-copy" }));
    assert.equal(copy.status, 200, copy.text);
    assert.ok((await state()).names.includes("cli-copy:latest"));
    const removed = await send(served.gateway.url, "DELETE", "/api/delete", { "Content-Type": "application/json" }, JSON.stringify({ model: "cli-copy" }));
    assert.equal(removed.status, 200, removed.text);
  });

  it("serves Ollama's local origins, the configured ones, and a page's request to its own host, with CORS headers where cross-origin", async () => {
    for (const origin of ["http://localhost", "http://localhost:3000", "https://127.0.0.1:8443", "http://0.0.0.0:80", "app://obsidian.md", "vscode-webview://abc", "https://chat.example.com"]) {
      const reply = await send(served.gateway.url, "GET", "/api/tags", { Origin: origin });
      assert.equal(reply.status, 200, `${origin}: ${reply.text}`);
      assert.equal(reply.headers["access-control-allow-origin"], origin);
    }
    const own = new URL(served.gateway.url).host;
    const sameOrigin = await send(served.gateway.url, "GET", "/api/tags", { Origin: `http://${own}` });
    assert.equal(sameOrigin.status, 200);
  });

  it("DNS rebinding: refuses Host: evil.example on the loopback listener (tags, logs, writes), serves local names and IP literals", async () => {
    for (const [method, path] of [["GET", "/api/tags"], ["GET", "/logs"], ["GET", "/"], ["POST", "/api/copy"]] as const) {
      const body = method === "POST" ? JSON.stringify({ source: "tiny", destination: "rebound" }) : undefined;
      const reply = await send(served.gateway.url, method, path, { Host: "evil.example", "Content-Type": "application/json" }, body);
      assert.equal(reply.status, 403, `${method} ${path}: ${reply.text}`);
      assert.match((JSON.parse(reply.text) as { error: string }).error, /host "evil\.example" is not allowed/);
    }
    // The rebound page calls as its own origin: same-origin, yet still the wrong host.
    const rebound = await send(served.gateway.url, "GET", "/api/tags", { Host: "evil.example:11434", Origin: "http://evil.example:11434" });
    assert.equal(rebound.status, 403);
    assert.ok(!(await state()).names.includes("rebound:latest"));
    const port = new URL(served.gateway.url).port;
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, "LOCALHOST", `app.localhost:${port}`, "printer.local", "box.internal", "192.168.1.20", "10.0.0.7:80", "0.0.0.0", "[::ffff:7f00:1]", hostname().toUpperCase(), `${hostname()}:${port}`]) {
      const reply = await send(served.gateway.url, "GET", "/api/version", { Host: host });
      assert.equal(reply.status, 200, `Host: ${host}`);
    }
    for (const host of ["8.8.8.8", "evil.example", "localhost.evil.example", "127.0.0.1.nip.io", "10.0.0.7.evil.example", "[::ffff:808:808]", `${hostname()}.evil.example`]) {
      const reply = await send(served.gateway.url, "GET", "/api/version", { Host: host });
      assert.equal(reply.status, 403, `Host: ${host}`);
    }
  });

  it("a Host no URL can hold gets a 400 with an error, before any handler, and the server keeps serving", async () => {
    const port = new URL(served.gateway.url).port;
    for (const host of ["[::ffff:127.0.0.1]", "127.0.0.1:99999", "a b", `127.0.0.1:${port}/x`, "[::1"]) {
      const reply = await send(served.gateway.url, "POST", "/api/copy", { Host: host, "Content-Type": "application/json" }, JSON.stringify({ source: "tiny", destination: "malformed" }));
      assert.equal(reply.status, 400, `Host: ${host}`);
      assert.match((JSON.parse(reply.text) as { error: string }).error, /^bad request: invalid (host header|url)$/, `Host: ${host}`);
    }
    assert.ok(!(await state()).names.includes("malformed:latest"));
    assert.equal((await send(served.gateway.url, "GET", "/api/version", {})).status, 200);
  });

  it("an HTTP/1.1 request without a Host gets a 400 with an error, where Node answered an empty one; HTTP/1.0 needs none", async () => {
    const { hostname: address, port } = new URL(served.gateway.url);
    const exchange = (head: string) =>
      new Promise<string>((resolve, reject) => {
        let text = "";
        const socket = connect({ host: address, port: Number(port) }, () => socket.end(head));
        socket.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
        socket.on("end", () => resolve(text)).on("error", reject);
      });
    const missing = await exchange("POST /api/copy HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
    assert.match(missing, /^HTTP\/1\.1 400 /);
    assert.deepEqual(JSON.parse(missing.slice(missing.indexOf("\r\n\r\n") + 4)), { error: "bad request: missing host header" });
    const old = await exchange("GET /api/version HTTP/1.0\r\n\r\n");
    assert.match(old, /^HTTP\/1\.1 200 [^]*"version"/);
  });
});

describe("browser checks, configured (MODELGATE_ALLOWED_HOSTS, OLLAMA_ORIGINS=*)", () => {
  const served = useGateway({ env: { MODELGATE_ALLOWED_HOSTS: "gateway.lan,*.corp.example", OLLAMA_ORIGINS: "*" } });

  it("serves the listed host names and still refuses others", async () => {
    for (const [host, status] of [["gateway.lan", 200], ["gpu.corp.example:11434", 200], ["evil.example", 403], ["corp.example.evil", 403]] as const) {
      const reply = await send(served.gateway.url, "GET", "/api/version", { Host: host });
      assert.equal(reply.status, status, `Host: ${host}`);
    }
  });

  it("OLLAMA_ORIGINS=* lets every page in, as in Ollama", async () => {
    const reply = await send(served.gateway.url, "GET", "/api/tags", { Origin: foreign });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers["access-control-allow-origin"], foreign);
  });
});
