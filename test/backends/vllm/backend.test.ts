import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile, chmod } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { pino } from "pino";
import { createVllmBackend } from "../../../src/backends/vllm/backend.ts";
import { locateVllm, VllmNotInstalledError } from "../../../src/backends/vllm/locate.ts";
import { runCommand } from "../../../src/backends/run-command.ts";
import { InvalidConfigurationError } from "../../../src/inference/index.ts";

const logger = pino({ level: "silent" });
const dirs: string[] = [];
after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "modelgate-vllm-locate-"));
  dirs.push(dir);
  return dir;
}

describe("locateVllm", () => {
  it("takes VLLM_SERVER_PATH, then vllm on PATH, and says how to install it when neither is there", async () => {
    const dir = await scratch();
    const vllm = join(dir, "vllm");
    await writeFile(vllm, "#!/bin/sh\n");
    await chmod(vllm, 0o755);
    assert.deepEqual(await locateVllm({ VLLM_SERVER_PATH: vllm, PATH: "" }), { command: vllm, prefix: [], source: "env" });
    assert.deepEqual(await locateVllm({ PATH: dir }), { command: vllm, prefix: [], source: "path" });
    await assert.rejects(locateVllm({ VLLM_SERVER_PATH: join(dir, "missing"), PATH: dir }), /VLLM_SERVER_PATH=.*missing is not an executable file/);
    // An empty directory as PATH: no vllm, no python3.
    await assert.rejects(locateVllm({ PATH: await scratch() }), (error: Error) => {
      assert.ok(error instanceof VllmNotInstalledError);
      assert.match(error.message, /pip install vllm/);
      return true;
    });
  });
});

describe("createVllmBackend", () => {
  const backend = createVllmBackend({
    logger,
    locate: async () => {
      throw new VllmNotInstalledError();
    },
    locateModel: async (id) => ({ name: id === "gguf" ? "tiny:latest" : "st:latest", format: id === "gguf" ? "gguf" : "safetensors", path: "/m", size: 42 }),
  });

  it("reports itself not installed, with how to install it, instead of failing the gateway", async () => {
    await assert.rejects(backend.install(AbortSignal.timeout(5_000), fetch), VllmNotInstalledError);
    assert.match(backend.status(), /^not installed: .*pip install vllm/);
  });

  it("refuses a GGUF model and a bad configuration before looking for the engine", async () => {
    const signal = AbortSignal.timeout(5_000);
    await assert.rejects(backend.requiredMemoryForModel(signal, "gguf"), /vllm serves safetensors models; model tiny:latest is GGUF/);
    await assert.rejects(backend.requiredMemoryForModel(signal, "st", { "runtime-flags": ["--trust-remote-code"] }), InvalidConfigurationError);
    await assert.rejects(backend.requiredMemoryForModel(signal, "st"), VllmNotInstalledError);
  });

  it("bounds its own probe: a vLLM that never answers fails the estimate, whose caller gives no deadline", async () => {
    const hanging = createVllmBackend({
      logger,
      probeTimeoutMs: 50,
      locate: async () => ({ command: "vllm", prefix: [], source: "path" }),
      // Like a Python stuck importing: answers only when stopped.
      readVersion: (_vllm, signal) => runCommand("sleep", ["600"], { signal }).then(() => assert.fail("sleep was stopped")),
      locateModel: async () => ({ name: "st:latest", format: "safetensors", path: "/m", size: 42 }),
    });
    await assert.rejects(hanging.requiredMemoryForModel(new AbortController().signal, "st"), /vLLM did not answer within 0.05 s/);
    assert.match(hanging.status(), /^not installed: vLLM did not answer/);
    const caller = new AbortController();
    const leaving = hanging.requiredMemoryForModel(caller.signal, "st");
    caller.abort(new Error("the client hung up"));
    await assert.rejects(leaving, /the client hung up/);
  });
});
