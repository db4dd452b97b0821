/**
 * Hugging Face pulls against a local server laid out like the Hub: the tree
 * API (paged), `resolve/main` redirecting to a CDN on another origin (which
 * must never see the token, and honours Range).
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ensureFixtureModels } from "../../../fixtures/generate.ts";
import { readGGUF } from "../../../src/models/gguf.ts";
import { createHubClient, HubError, type HubFile } from "../../../src/models/huggingface/hub-client.ts";
import { pullFromHuggingFace } from "../../../src/models/huggingface/huggingface-pull.ts";
import { QuantizationNotFoundError, selectQuantization } from "../../../src/models/huggingface/quant-selection.ts";
import { parseNamedReference } from "../../../src/models/reference.ts";
import { DigestMismatchError, sha256Digest } from "../../../src/models/store/digest.ts";
import { createModelDistribution } from "../../../src/models/store/model-distribution.ts";
import { openModelStore, type ModelStore } from "../../../src/models/store/model-store.ts";

const file = (path: string, size = 1): HubFile => ({ path, size });

describe("selectQuantization", () => {
  const files = [
    file("README.md"),
    file("Model-Q8_0.gguf"),
    file("Model-Q4_K_M.gguf"),
    file("Model-IQ4_XS.gguf"),
    file("mmproj-Model-F16.gguf"),
    file("model-f16.gguf"),
  ];

  it("takes Q4_K_M for latest", () => {
    assert.equal(selectQuantization("o/r", files, "latest").files[0].path, "Model-Q4_K_M.gguf");
  });

  it("takes the named quantization, case-insensitively", () => {
    assert.equal(selectQuantization("o/r", files, "q8_0").files[0].path, "Model-Q8_0.gguf");
    assert.equal(selectQuantization("o/r", files, "F16").files[0].path, "model-f16.gguf");
  });

  it("never takes a projector as the model", () => {
    assert.throws(() => selectQuantization("o/r", [file("mmproj-F16.gguf")], "F16"), QuantizationNotFoundError);
  });

  it("falls back to the best available when Q4_K_M is missing", () => {
    const rest = [file("m-Q8_0.gguf"), file("m-Q5_K_M.gguf"), file("m-F16.gguf")];
    assert.equal(selectQuantization("o/r", rest, "latest").quantization, "Q5_K_M");
    assert.equal(selectQuantization("o/r", [file("m-F16.gguf"), file("m-BF16.gguf")], "latest").quantization, "BF16");
    assert.equal(selectQuantization("o/r", [file("model.gguf")], "latest").files[0].path, "model.gguf");
  });

  it("orders shards, in a folder named for the quantization too", () => {
    const sharded = [file("Q8_0/m-Q8_0-00002-of-00002.gguf"), file("Q8_0/m-Q8_0-00001-of-00002.gguf"), file("m-Q4_K_M.gguf")];
    assert.deepEqual(
      selectQuantization("o/r", sharded, "Q8_0").files.map((item) => item.path),
      ["Q8_0/m-Q8_0-00001-of-00002.gguf", "Q8_0/m-Q8_0-00002-of-00002.gguf"],
    );
    const folders = [file("Q6_K/model-00001-of-00002.gguf"), file("Q6_K/model-00002-of-00002.gguf")];
    assert.equal(selectQuantization("o/r", folders, "Q6_K").files.length, 2);
  });

  it("names what the repository has when the quantization is missing", () => {
    assert.throws(() => selectQuantization("o/r", files, "Q2_K"), /has no GGUF file for Q2_K \(it has .*Q4_K_M.*Q8_0/);
    assert.throws(() => selectQuantization("o/r", [file("README.md")], "latest"), /has no GGUF files/);
  });
});

interface HubFixture {
  readonly path: string;
  readonly bytes: Buffer;
  readonly lfs: boolean;
}

interface FakeHub {
  readonly endpoint: string;
  readonly hubRequests: IncomingMessage[];
  readonly cdnRequests: IncomingMessage[];
  /** The CDN cuts its next response after this many bytes. */
  cutNextAfter?: number;
  /** The CDN serves this file with one byte flipped. */
  corrupt?: string;
  close(): Promise<void>;
}

const token = "hf_test_token";

/** `org/Tiny-GGUF` with two quantizations and a README; token required. Trees come two entries per page. */
async function startFakeHub(files: readonly HubFixture[]): Promise<FakeHub> {
  const hubRequests: IncomingMessage[] = [];
  const cdnRequests: IncomingMessage[] = [];
  const listen = async (handler: (request: IncomingMessage, response: ServerResponse) => void) => {
    const server = createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return server;
  };
  const origin = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const state: { cutNextAfter?: number; corrupt?: string } = {};
  const cdn = await listen((request, response) => {
    cdnRequests.push(request);
    const name = decodeURIComponent(new URL(request.url ?? "/", "http://x").pathname.slice("/cdn/".length));
    const found = files.find((item) => item.path === name);
    if (!found) return void response.writeHead(404).end();
    let bytes = found.bytes;
    if (state.corrupt === name) {
      bytes = Buffer.from(bytes);
      bytes.writeUInt8(bytes.readUInt8(bytes.length >> 1) ^ 0xff, bytes.length >> 1);
    }
    const range = /^bytes=(\d+)-$/.exec(request.headers.range ?? "");
    const start = range ? Number(range[1]) : 0;
    const body = bytes.subarray(start);
    response.writeHead(range ? 206 : 200, {
      "content-length": body.length,
      ...(range ? { "content-range": `bytes ${start}-${bytes.length - 1}/${bytes.length}` } : {}),
    });
    const cut = state.cutNextAfter;
    if (cut !== undefined) {
      state.cutNextAfter = undefined;
      response.write(body.subarray(0, cut), () => response.socket?.destroy());
      return;
    }
    response.end(body);
  });

  const hub = await listen((request, response) => {
    hubRequests.push(request);
    if (request.headers.authorization !== `Bearer ${token}`) {
      return void response.writeHead(401, { "content-type": "application/json" }).end('{"error":"Invalid credentials"}');
    }
    const url = new URL(request.url ?? "/", origin(hub));
    const tree = /^\/api\/models\/org\/tiny-gguf\/tree\/main$/i.exec(url.pathname);
    if (tree) {
      const page = Number(url.searchParams.get("page") ?? 0);
      const entries = files.slice(page * 2, page * 2 + 2).map((item) => ({
        type: "file",
        path: item.path,
        size: item.lfs ? 134 : item.bytes.length,
        oid: "0".repeat(40),
        ...(item.lfs ? { lfs: { oid: sha256Digest(item.bytes).slice(7), size: item.bytes.length, pointerSize: 134 } } : {}),
      }));
      const more = (page + 1) * 2 < files.length;
      const next = new URL(url);
      next.searchParams.set("page", String(page + 1));
      response.writeHead(200, { "content-type": "application/json", ...(more ? { link: `<${next.href}>; rel="next"` } : {}) });
      return void response.end(JSON.stringify([{ type: "directory", path: "docs" }, ...entries]));
    }
    const resolve = /^\/org\/tiny-gguf\/resolve\/main\/(.+)$/i.exec(url.pathname);
    if (resolve) {
      return void response.writeHead(302, { location: `${origin(cdn)}/cdn/${resolve[1]}` }).end();
    }
    response.writeHead(404).end();
  });

  return {
    endpoint: origin(hub),
    hubRequests,
    cdnRequests,
    set cutNextAfter(bytes: number | undefined) {
      state.cutNextAfter = bytes;
    },
    set corrupt(name: string | undefined) {
      state.corrupt = name;
    },
    async close() {
      await Promise.all([hub, cdn].map((server) => new Promise((resolve) => server.close(resolve))));
    },
  };
}

describe("Hugging Face pulls against a Hub-like server", () => {
  let hub: FakeHub;
  let homes: string[];
  let q4: Buffer;
  let q8: Buffer;

  before(async () => {
    const fixtures = await ensureFixtureModels();
    q4 = await readFile(fixtures.embedding);
    q8 = await readFile(fixtures.chat);
    homes = [];
    hub = await startFakeHub([
      { path: "README.md", bytes: Buffer.from("# Tiny\n"), lfs: false },
      { path: "Tiny-Q4_K_M.gguf", bytes: q4, lfs: true },
      { path: "Tiny-Q8_0.gguf", bytes: q8, lfs: true },
      { path: "mmproj-Tiny-F16.gguf", bytes: Buffer.from("projector"), lfs: true },
    ]);
  });
  after(async () => {
    await hub.close();
    await Promise.all(homes.map((home) => rm(home, { recursive: true, force: true })));
  });

  const freshStore = async (): Promise<ModelStore> => {
    const home = await mkdtemp(join(tmpdir(), "modelgate-hf-"));
    homes.push(home);
    return openModelStore({ home });
  };
  const client = () => createHubClient({ endpoint: hub.endpoint, token });

  it("hf.co/org/repo pulls the Q4_K_M file, verified, and the model loads", async () => {
    const store = await freshStore();
    const reference = parseNamedReference("hf.co/org/Tiny-GGUF");
    const model = await pullFromHuggingFace(store, client(), reference);
    assert.equal(model.parts.weights[0].digest, sha256Digest(q4));
    assert.deepEqual(model.tags.map(String), ["huggingface.co/org/tiny-gguf:latest"]);
    const resolved = await store.resolve("hf.co/org/tiny-gguf");
    await readGGUF(resolved.paths[0]);
    assert.equal(resolved.summary.architecture, "bert");
  });

  it("a tag picks the quantization, through the distribution's dispatch", async () => {
    const store = await freshStore();
    const distribution = createModelDistribution({ store, hub: client() });
    const model = await distribution.pull("hf.co/org/tiny-gguf:q8_0");
    assert.equal(model.parts.weights[0].digest, sha256Digest(q8));
    assert.equal((await store.resolve("huggingface.co/org/tiny-gguf:q8_0")).id, model.id);
  });

  it("sends the token to the Hub and never to the CDN it redirects to", async () => {
    const store = await freshStore();
    await pullFromHuggingFace(store, client(), parseNamedReference("hf.co/org/tiny-gguf"));
    assert.ok(hub.hubRequests.every((request) => request.headers.authorization === `Bearer ${token}`));
    assert.ok(hub.cdnRequests.length > 0);
    assert.ok(hub.cdnRequests.every((request) => request.headers.authorization === undefined));
  });

  it("without the token the repository is not found", async () => {
    const store = await freshStore();
    await assert.rejects(
      pullFromHuggingFace(store, createHubClient({ endpoint: hub.endpoint }), parseNamedReference("hf.co/org/tiny-gguf")),
      (error: unknown) => error instanceof HubError && error.status === 404 && /HF_TOKEN/.test(error.message),
    );
  });

  it("a missing quantization is a QuantizationNotFoundError naming what exists", async () => {
    const store = await freshStore();
    await assert.rejects(pullFromHuggingFace(store, client(), parseNamedReference("hf.co/org/tiny-gguf:Q2_K")), /it has Q4_K_M, Q8_0/);
  });

  it("resumes with Range when the CDN cuts the download", async () => {
    const store = await freshStore();
    const before = hub.cdnRequests.length;
    hub.cutNextAfter = 1024 * 1024;
    const model = await pullFromHuggingFace(store, client(), parseNamedReference("hf.co/org/tiny-gguf:Q8_0"));
    assert.equal(model.parts.weights[0].digest, sha256Digest(q8));
    const requests = hub.cdnRequests.slice(before);
    assert.equal(requests.length, 2);
    assert.match(requests[1]!.headers.range ?? "", /^bytes=\d+-$/);
  });

  it("refuses a file that does not match the Hub's sha256", async () => {
    const store = await freshStore();
    hub.corrupt = "Tiny-Q4_K_M.gguf";
    try {
      await assert.rejects(pullFromHuggingFace(store, client(), parseNamedReference("hf.co/org/tiny-gguf")), DigestMismatchError);
      assert.deepEqual(await store.models(), []);
      assert.equal(await store.hasBlob(sha256Digest(q4)), false);
    } finally {
      hub.corrupt = undefined;
    }
  });
});
