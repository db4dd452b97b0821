import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import { pino } from "pino";
import type { ModelResolver, ResolvedModel } from "../../src/models/model-resolver.ts";
import type { RequiredMemory } from "../../src/inference/index.ts";
import { createLoader } from "../../src/scheduling/loader.ts";
import { prepareRunnersDir } from "../../src/scheduling/runners-dir.ts";
import { createFakeBackend } from "./fake-backend.ts";

const logger = pino({ level: "silent" });
const model: ResolvedModel = {
  name: "a:latest",
  id: "sha256:a",
  format: "gguf",
  paths: ["/models/a.gguf"],
  summary: { architecture: "llama", contextLength: 2048, parameterCount: 1000, quantization: "F16", hasTokenizer: true, tensorBytes: 100, fileSize: 100 },
  size: 100,
  modifiedAt: new Date(0),
};
const resolver: ModelResolver = { resolve: async () => model, list: async () => [model] };
const homes: string[] = [];
after(() => Promise.all(homes.map((home) => rm(home, { recursive: true, force: true }))));

it("a request waiting for the engine's first build leaves when its client does; the next is served once it is built", async () => {
  const home = await mkdtemp(join(tmpdir(), "modelgate-engine-wait-"));
  homes.push(home);
  const fake = createFakeBackend();
  let built = (_memory: RequiredMemory) => {};
  const building = new Promise<RequiredMemory>((resolve) => (built = resolve));
  const estimateSignals: AbortSignal[] = [];
  // The estimate needs the engine: it stands for the whole build here.
  const backend = {
    ...fake.backend,
    requiredMemoryForModel: (signal: AbortSignal) => {
      estimateSignals.push(signal);
      return building;
    },
  };
  const loader = createLoader({ backends: [backend], resolver, runnersDir: await prepareRunnersDir(home, logger), logger });
  try {
    const client = new AbortController();
    const waiting = loader.acquire({ model: "a", mode: "completion" }, client.signal);
    client.abort(new Error("the client hung up"));
    await assert.rejects(waiting, /the client hung up/);
    assert.equal(fake.starts, 0, "nothing started for a client that left");

    const next = loader.acquire({ model: "a", mode: "completion" });
    built({ ram: 1, vram: 0 });
    const lease = await next;
    assert.equal(fake.starts, 1);
    lease.release();
    assert.equal(estimateSignals.length, 1, "one estimate, shared");
    assert.equal(estimateSignals[0]!.aborted, false, "the estimate outlived the client that left; the loader gives it no deadline");
  } finally {
    await loader.close();
  }
  assert.equal(estimateSignals[0]!.aborted, true, "the loader's life bounds the estimate");
});
