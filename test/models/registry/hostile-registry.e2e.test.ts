/**
 * Registries as an attacker runs them, on loopback, pulled from through the
 * real gateway's `/api/pull`: an internal page that is no registry (SSRF
 * with an echo), a manifest that never ends, redirects to other hosts and
 * other schemes, a token realm pointing elsewhere, and an operator's closed
 * list (MODELGATE_ALLOWED_REGISTRIES).
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { ensureFixtureModels } from "../../../fixtures/generate.ts";
import { sha256Digest } from "../../../src/models/store/digest.ts";
import { encodeManifest, type Descriptor } from "../../../src/models/store/manifest.ts";
import { mediaTypes } from "../../../src/models/store/media-types.ts";
import { eventually } from "../../support/eventually.ts";
import { startGateway, useGateway, type GatewayProcess } from "../../support/gateway.ts";

interface FakeHost {
  /** `127.0.0.1:<port>` */
  readonly host: string;
  /** Every request seen, `METHOD path`. */
  readonly requests: string[];
  close(): Promise<void>;
}

/** An HTTP server on a free loopback port that answers with `handle`. */
async function startHost(handle: (request: IncomingMessage, response: ServerResponse) => void): Promise<FakeHost> {
  const requests: string[] = [];
  const server: Server = createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    handle(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port nothing listens on (one that was just free). */
async function closedPort(): Promise<string> {
  const host = await startHost(() => {});
  await host.close();
  return host.host;
}

/** `/api/pull` with `stream: false`: the status and the error, if any. */
async function pull(fixture: { gateway: GatewayProcess }, model: string): Promise<{ status: number; error?: string }> {
  const response = await fetch(`${fixture.gateway.url}/api/pull`, { method: "POST", body: JSON.stringify({ model, stream: false }) });
  const body = (await response.json()) as { error?: string };
  return { status: response.status, ...(body.error === undefined ? {} : { error: body.error }) };
}

/** The pull error without the port, which is all that may differ between two hosts that are not registries. */
const withoutPort = (error: string | undefined, host: string) => error?.replaceAll(host, "HOST");

/** A model in Ollama's layout, served like a registry would serve it; the weights blob's reply is `weights`. */
async function modelRegistry(weights: (response: ServerResponse, bytes: Uint8Array) => void) {
  const gguf = new Uint8Array(await readFile((await ensureFixtureModels()).embedding));
  // One weight changed: still a valid GGUF, but not the demo model the gateway already holds.
  gguf[gguf.length - 1] = gguf.at(-1)! ^ 1;
  const config = new TextEncoder().encode(JSON.stringify({ model_format: "gguf", model_family: "bert", file_type: "F16", rootfs: { type: "layers", diff_ids: [] } }));
  const describe = (mediaType: string, bytes: Uint8Array): Descriptor => ({ mediaType, digest: sha256Digest(bytes), size: bytes.byteLength });
  const weightsLayer = describe(mediaTypes.ollamaModel, gguf);
  const manifest = encodeManifest({ schemaVersion: 2, mediaType: mediaTypes.dockerManifest, config: describe(mediaTypes.ollamaConfig, config), layers: [weightsLayer] });
  return startHost((request, response) => {
    if (/\/manifests\//.test(request.url ?? "")) {
      response.writeHead(200, { "content-type": mediaTypes.dockerManifest }).end(manifest.bytes);
    } else if (request.url?.endsWith(weightsLayer.digest)) {
      weights(response, gguf);
    } else if (request.url?.endsWith(sha256Digest(config))) {
      response.writeHead(200).end(config);
    } else {
      response.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ errors: [{ code: "BLOB_UNKNOWN", message: "blob unknown" }] }));
    }
  });
}

describe("hostile registries, through the real gateway's /api/pull", () => {
  const served = useGateway();
  const hosts: FakeHost[] = [];
  const start = async (handle: Parameters<typeof startHost>[0]) => {
    const host = await startHost(handle);
    hosts.push(host);
    return host;
  };
  after(() => Promise.all(hosts.map((host) => host.close())));

  it("SSRF: an internal page's words are never echoed, and it reads exactly like a closed port (no port-scanner oracle)", async () => {
    const admin = await start((_request, response) => response.writeHead(403, { "content-type": "text/plain" }).end("INTERNAL-ADMIN-PAGE secret_token=hunter2"));
    const page = await start((_request, response) => response.writeHead(200, { "content-type": "text/html" }).end("<html>router admin secret_token=hunter2</html>"));
    const closed = await closedPort();
    const replies = {
      admin: await pull(served, `${admin.host}/admin/panel`),
      page: await pull(served, `${page.host}/admin/panel`),
      closed: await pull(served, `${closed}/admin/panel`),
    };
    const hostOf = { admin: admin.host, page: page.host, closed };
    for (const [name, reply] of Object.entries(replies)) {
      assert.ok(reply.error, name);
      // Without the host: a port such as 40321 holds "403" by chance.
      const error = withoutPort(reply.error, hostOf[name as keyof typeof hostOf]) ?? "";
      assert.doesNotMatch(error, /secret|INTERNAL|html|ECONNREFUSED|403/i, `${name}: ${reply.error}`);
    }
    assert.ok(admin.requests.length > 0 && page.requests.length > 0, "the gateway did try them");
    assert.equal(withoutPort(replies.admin.error, admin.host), withoutPort(replies.closed.error, closed));
    assert.equal(withoutPort(replies.page.error, page.host), withoutPort(replies.closed.error, closed));
    assert.equal(replies.admin.status, replies.closed.status);
    assert.equal(replies.page.status, replies.closed.status);
    // The operator's log keeps what happened.
    await eventually(async () => served.gateway.logs.some((entry) => JSON.stringify(entry).includes("HTTP 403 without a registry error")), "the detail in the log");
  });

  it("passes on a registry's own error JSON (an unknown tag is a 404 in its words)", async () => {
    const registry = await start((_request, response) =>
      response.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ errors: [{ code: "MANIFEST_UNKNOWN", message: "manifest unknown" }] })),
    );
    const reply = await pull(served, `${registry.host}/library/missing:v1`);
    assert.match(reply.error ?? "", /MANIFEST_UNKNOWN: manifest unknown/);
  });

  it("an endless manifest without Content-Length is cut at 4 MiB while it streams: the connection is closed, memory does not grow", async () => {
    let sent = 0;
    let closed = false;
    let onClosed = () => {};
    const connectionClosed = new Promise<void>((resolve) => (onClosed = resolve));
    const chunk = Buffer.alloc(64 * 1024, "{");
    // Endless as far as a 4 MiB limit can tell, yet bounded, so a gateway without the limit costs this machine little.
    const maxSent = 256 * 1024 ** 2;
    const endless = await start((_request, response) => {
      response.writeHead(200, { "content-type": mediaTypes.dockerManifest });
      response.on("close", () => {
        closed = true;
        onClosed();
      });
      const write = () => {
        while (!closed && sent < maxSent) {
          sent += chunk.byteLength;
          if (!response.write(chunk)) return void response.once("drain", write);
        }
        if (!closed) response.end();
      };
      write();
    });
    const reply = await pull(served, `${endless.host}/big/manifest`);
    assert.match(reply.error ?? "", /larger than 4194304 bytes/);
    // Resolves once the connection closes: cut by the gateway, long before the registry would end it.
    await connectionClosed;
    // What sat in socket buffers when the cut came, not all the registry would send.
    assert.ok(sent < 64 * 1024 ** 2, `${sent} bytes were sent before the cut`);
  });

  it("a manifest redirect is not followed: the other host is never asked", async () => {
    const elsewhere = await start((_request, response) => response.writeHead(200).end("{}"));
    const redirecting = await start((_request, response) => response.writeHead(302, { location: `http://${elsewhere.host}/v2/x/manifests/latest` }).end());
    const reply = await pull(served, `${redirecting.host}/x/y`);
    assert.match(reply.error ?? "", /did not answer as an OCI registry/);
    assert.deepEqual(elsewhere.requests, []);
  });

  it("a blob redirect to a file: URL (or any non-http scheme) is refused", async () => {
    for (const location of ["file:///etc/passwd", "ftp://127.0.0.1/blob", "gopher://127.0.0.1:6379/_INFO"]) {
      const redirecting = await modelRegistry((response) => response.writeHead(307, { location }).end());
      hosts.push(redirecting);
      const reply = await pull(served, `${redirecting.host}/library/redirected:latest`);
      assert.match(reply.error ?? "", new RegExp(`sent a redirect to a ${new URL(location).protocol} URL`), location);
    }
  });

  it("a blob redirect to an http(s) download host is followed, and the model is pulled", async () => {
    let weights: Uint8Array = new Uint8Array();
    const cdn = await start((_request, response) => response.writeHead(200).end(weights));
    const registry = await modelRegistry((response, bytes) => {
      weights = bytes;
      response.writeHead(307, { location: `http://${cdn.host}/signed/blob?token=1` }).end();
    });
    hosts.push(registry);
    const reply = await pull(served, `${registry.host}/library/cdn:latest`);
    assert.deepEqual(reply, { status: 200 });
    assert.deepEqual(cdn.requests, ["GET /signed/blob?token=1"]);
  });

  it("a token realm with a non-http scheme is never fetched", async () => {
    const registry = await start((_request, response) =>
      response.writeHead(401, { "www-authenticate": 'Bearer realm="file:///etc/passwd",service="x"' }).end(),
    );
    const reply = await pull(served, `${registry.host}/x/y`);
    assert.match(reply.error ?? "", /sent a token server to a file: URL/);
  });
});

describe("MODELGATE_ALLOWED_REGISTRIES: a closed list, through the real gateway", () => {
  let listed: FakeHost;
  let other: FakeHost;
  let served: { gateway: GatewayProcess };
  before(async () => {
    other = await startHost((_request, response) => response.writeHead(200, { "content-type": "application/json" }).end('{"token":"t"}'));
    listed = await startHost((_request, response) =>
      response.writeHead(401, { "www-authenticate": `Bearer realm="http://${other.host}/token",service="listed"` }).end(),
    );
    served = { gateway: await startGateway({ env: { MODELGATE_ALLOWED_REGISTRIES: listed.host } }) };
  });
  after(async () => {
    await served?.gateway.stop();
    await listed.close();
    await other.close();
  });

  it("refuses a registry not on the list before contacting it", async () => {
    const reply = await pull(served, `${other.host}/x/y`);
    assert.match(reply.error ?? "", /is not in MODELGATE_ALLOWED_REGISTRIES/);
    assert.deepEqual(other.requests, []);
  });

  it("gives a token realm the registry's own check: a realm on an unlisted host is never asked", async () => {
    const reply = await pull(served, `${listed.host}/x/y`);
    assert.match(reply.error ?? "", /sent a token server to 127\.0\.0\.1:\d+, which is not in MODELGATE_ALLOWED_REGISTRIES/);
    assert.ok(listed.requests.length > 0);
    assert.deepEqual(other.requests, []);
  });
});
