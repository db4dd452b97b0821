/**
 * The disk fills during a pull: the gateway process runs under a file-size
 * limit (`prlimit --fsize`, the kernel's EFBIG, as ENOSPC comes from a full
 * disk) smaller than the model it pulls from a real registry. The pull fails
 * with a clear error, the store keeps what it had and nothing of the
 * partial download, and the gateway keeps serving.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Ollama } from "ollama";
import { startGateway, type GatewayProcess } from "../support/gateway.ts";
import { startRegistry, type TestRegistry } from "../support/registry.ts";

/** Room for the small files (index, manifests) and the embedding model, not for the 45 MB chat model. */
const fileSizeLimit = 8 * 1024 * 1024;

const sha256Hex = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

describe("disk full during a pull", () => {
  let registry: TestRegistry;
  let gateway: GatewayProcess;
  let ollama: Ollama;

  before(async () => {
    registry = await startRegistry();
    gateway = await startGateway({ wrapper: ["prlimit", `--fsize=${fileSizeLimit}`, "--"] });
    ollama = new Ollama({ host: gateway.url });
  });
  after(async () => {
    await gateway?.stop();
    await registry?.stop();
  });

  const names = async () => (await ollama.list()).models.map((model) => model.name).sort();
  const storeFiles = async (dir: string) => (await readdir(join(gateway.home, "models", dir)).catch(() => [])).sort();

  it("fails the pull with the write error, keeps the store as it was, and leaves no partial file", async () => {
    const remote = `${registry.host}/library/tiny:v1`;
    const digest = (await ollama.list()).models.find((model) => model.name === "tiny:latest")!.digest;
    await ollama.copy({ source: "tiny", destination: remote });
    await ollama.push({ model: remote, insecure: true });
    // Forget the model here, weights included, so the pull must write them.
    await ollama.delete({ model: "tiny" });
    await ollama.delete({ model: remote });
    assert.equal((await fetch(`${gateway.url}/api/blobs/sha256:${digest}`, { method: "HEAD" })).status, 404);
    const before = { names: await names(), blobs: await storeFiles("blobs/sha256"), manifests: await storeFiles("manifests/sha256") };
    assert.ok(before.blobs.length > 0);

    await assert.rejects(ollama.pull({ model: remote, insecure: true, stream: true }).then(async (progress) => {
      for await (const _event of progress);
    }), /EFBIG|file too large/i);

    assert.deepEqual(await names(), before.names, "nothing new is listed");
    assert.deepEqual(await storeFiles("manifests/sha256"), before.manifests);
    // Blobs that arrived whole before the disk filled (the model's config) stay for the next try.
    const blobs = await storeFiles("blobs/sha256");
    assert.ok(!blobs.includes(digest) && before.blobs.every((blob) => blobs.includes(blob)));
    for (const blob of blobs.filter((name) => !before.blobs.includes(name))) {
      assert.equal(sha256Hex(await readFile(join(gateway.home, "models/blobs/sha256", blob))), blob, "no partial blob is left");
    }
    assert.deepEqual(await storeFiles("tmp"), [], "no scratch file is left");

    const reply = await ollama.embed({ model: "tiny-embed", input: "still serving" });
    assert.equal(reply.embeddings.length, 1);
  });
});
