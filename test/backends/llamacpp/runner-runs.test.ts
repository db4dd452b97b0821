import assert from "node:assert/strict";
import { chmod, copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { setTimeout } from "node:timers/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import { pino } from "pino";
import { createLlamaCppBackend } from "../../../src/backends/llamacpp/backend.ts";
import { findOnPath } from "../../../src/backends/find-executable.ts";

const dirs: string[] = [];
after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

/**
 * A stand-in engine whose process maps a file named like a ggml backend:
 * `sleep`, copied as `libggml-standin.so`, so `/proc/<pid>/maps` names it as
 * it names the backends a prebuilt llama-server loads.
 */
async function standInEngine(dir: string): Promise<string> {
  const sleep = await findOnPath("sleep");
  assert.ok(sleep, "sleep is on PATH");
  const mapped = join(dir, "libggml-standin.so");
  await copyFile(sleep, mapped);
  await chmod(mapped, 0o755);
  const engine = join(dir, "llama-server");
  await writeFile(engine, `#!/bin/sh\n[ "$1" = --list-devices ] && exit 0\nexec ${JSON.stringify(mapped)} 600\n`);
  await chmod(engine, 0o755);
  return engine;
}

it("a runner's late exit leaves the entry of the next runner on its socket (ggml backends still read from the new one)", async () => {
  const dir = await mkdtemp(join(tmpdir(), "modelgate-runner-runs-"));
  dirs.push(dir);
  const engine = await standInEngine(dir);
  let spawned = (_pid: number) => {};
  const backend = createLlamaCppBackend({
    logger: pino({ level: "silent" }),
    locateModel: async () => ({ ggufPath: join(dir, "model.gguf") }),
    resolveServer: async () => ({ path: engine, provisioning: "prebuilt", gpu: false, env: {} }),
    onSpawn: ({ pid }) => spawned(pid),
  });
  const socket = join(dir, "inference-runner-0.sock");
  // Spawned, then replaced by the stand-in (`exec`): only then does it map it.
  const nextSpawn = async () => {
    const pid = await new Promise<number>((resolve) => (spawned = resolve));
    while (!(await readFile(`/proc/${pid}/maps`, "utf8").catch(() => "")).includes("libggml-standin.so")) await setTimeout(10);
  };

  const old = new AbortController();
  let started = nextSpawn();
  const oldRun = backend.run(old.signal, socket, "m", "m", "completion");
  await started;
  // The slot's next runner starts before the old one's run has wound down.
  const next = new AbortController();
  started = nextSpawn();
  const nextRun = backend.run(next.signal, socket, "m", "m", "completion");
  await started;
  old.abort(new Error("evicted"));
  await oldRun.catch(() => {});

  try {
    assert.match(backend.status(), /ggml backends loaded: libggml-standin\.so/, "the running runner is still known");
  } finally {
    next.abort(new Error("done"));
    await nextRun.catch(() => {});
  }
});
