import assert from "node:assert/strict";
import { chmod, mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { cachedLlamaServerPath, ensureLlamaServer } from "../../../src/backends/llamacpp/install.ts";
import { llamaCppSource } from "../../../src/backends/llamacpp/source.ts";
import { chooseVariant } from "../../../src/backends/llamacpp/variant.ts";

/** A stand-in llama-server that lists the given devices, as `--list-devices` does. */
async function fakeLlamaServer(path: string, devices = "  (none)"): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `#!/bin/sh\nprintf 'Available devices:\\n${devices}\\n'\n`);
  await chmod(path, 0o755);
  return path;
}

describe("ensureLlamaServer's resolution order", () => {
  const saved = { ...process.env };
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "mg-install-"));
    delete process.env.LLAMA_SERVER_PATH;
    process.env.PATH = "/usr/bin:/bin";
    process.env.MODELGATE_CACHE_DIR = join(dir, "cache");
    process.env.MODELGATE_LLAMA_CUDA = "off";
    delete process.env.MODELGATE_LLAMA_BUILD;
  });
  afterEach(() => {
    process.env = { ...saved };
  });

  it("takes LLAMA_SERVER_PATH first", async () => {
    process.env.LLAMA_SERVER_PATH = await fakeLlamaServer(join(dir, "env", "llama-server"), "  CUDA0: NVIDIA H100 80GB HBM3 (81079 MiB, 80484 MiB free)");
    await fakeLlamaServer(join(dir, "bin", "llama-server"));
    process.env.PATH = `${join(dir, "bin")}:/usr/bin:/bin`;
    assert.deepEqual(await ensureLlamaServer(), { path: process.env.LLAMA_SERVER_PATH, provisioning: "path", gpu: true, env: {} });
  });

  it("refuses a LLAMA_SERVER_PATH that is not an executable file", async () => {
    process.env.LLAMA_SERVER_PATH = join(dir, "missing");
    await assert.rejects(ensureLlamaServer(), /LLAMA_SERVER_PATH=.*missing is not an executable file/);
    process.env.LLAMA_SERVER_PATH = dir;
    await assert.rejects(ensureLlamaServer(), /is not an executable file/);
  });

  it("then llama-server on PATH", async () => {
    const onPath = await fakeLlamaServer(join(dir, "bin", "llama-server"));
    process.env.PATH = `${join(dir, "bin")}:/usr/bin:/bin`;
    assert.deepEqual(await ensureLlamaServer(), { path: onPath, provisioning: "path", gpu: true, env: {} });
  });

  it("then a cached engine on the prebuilt libraries this host uses, before a cached source build", async () => {
    const source = await fakeLlamaServer(cachedLlamaServerPath("cpu"));
    assert.ok(source.startsWith(join(dir, "cache", "llama.cpp")));
    assert.deepEqual(await ensureLlamaServer(), { path: source, provisioning: "source", variant: "cpu", commit: llamaCppSource.commit, gpu: false, env: {} });
    // This machine has no GPU: the CPU package alone.
    const prebuilt = await fakeLlamaServer(cachedLlamaServerPath("prebuilt-linux-x64"));
    assert.deepEqual(await ensureLlamaServer(), { path: prebuilt, provisioning: "prebuilt", variant: "prebuilt-linux-x64", commit: llamaCppSource.commit, gpu: false, env: {} });
  });

  it("MODELGATE_LLAMA_BUILD=source skips the prebuilt engine; another value is refused", async () => {
    await fakeLlamaServer(cachedLlamaServerPath("prebuilt-linux-x64"));
    const source = await fakeLlamaServer(cachedLlamaServerPath("cpu"));
    process.env.MODELGATE_LLAMA_BUILD = "source";
    assert.equal((await ensureLlamaServer()).path, source);
    process.env.MODELGATE_LLAMA_BUILD = "fast";
    await assert.rejects(ensureLlamaServer(), /MODELGATE_LLAMA_BUILD must be auto or source, not "fast"/);
  });
});

describe("chooseVariant", () => {
  it("follows MODELGATE_LLAMA_CUDA, and in auto needs both nvcc and a GPU", async () => {
    assert.equal(await chooseVariant({ MODELGATE_LLAMA_CUDA: "off" }), "cpu");
    assert.equal(await chooseVariant({ MODELGATE_LLAMA_CUDA: "on" }), "cuda");
    assert.equal(await chooseVariant({ PATH: "/nonexistent" }), "cpu", "auto without nvidia-smi (so without a visible GPU)");
    await assert.rejects(chooseVariant({ MODELGATE_LLAMA_CUDA: "maybe" }), /must be on, off or auto/);
  });
});
