import assert from "node:assert/strict";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, it } from "node:test";
import { EngineCrashedError } from "../../src/backends/engine-crashed-error.ts";
import { runEngineProcess, type RunEngineOptions } from "../../src/backends/engine-process.ts";
import { exitDiagnosis } from "../../src/backends/exit-diagnosis.ts";
import { isProcessRunning } from "../support/processes.ts";

/**
 * Runs a shell script as the engine and hands back its pid once spawned.
 * `run` is observed from the start: an engine that exits while its caller
 * still waits for the pid must not read as an unhandled rejection.
 */
async function start(script: string, options: Partial<RunEngineOptions> = {}) {
  const controller = new AbortController();
  const cwd = await mkdtemp(join(tmpdir(), "mg-engine-"));
  let spawned!: (pid: number) => void;
  const pid = new Promise<number>((resolve) => (spawned = resolve));
  const run = runEngineProcess(controller.signal, {
    engine: "fake-engine",
    command: "bash",
    args: ["-c", script],
    cwd,
    onSpawn: (spawnedPid) => spawned(spawnedPid),
    ...options,
  });
  // Settles with `run` when it fails before spawning (the pid would never come).
  await Promise.race([pid, run]);
  return { pid: await pid, run, abort: () => controller.abort() };
}

describe("runEngineProcess", () => {
  it("stops the whole process group on abort and resolves once it is gone", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mg-engine-"));
    const engine = await start(`sleep 1000 & echo $! > ${dir}/child; wait`);
    while (!(await readFile(join(dir, "child"), "utf8").catch(() => ""))) await sleep(5);
    const child = Number(await readFile(join(dir, "child"), "utf8"));
    engine.abort();
    await engine.run;
    assert.equal(await isProcessRunning(engine.pid), false);
    assert.equal(await isProcessRunning(child), false, "what the engine forked went with it");
  });

  it("kills an engine that ignores SIGTERM once the grace period is over", async () => {
    let trapped!: () => void;
    const ready = new Promise<void>((resolve) => (trapped = resolve));
    const engine = await start(`trap '' TERM; echo ready >&2; while true; do sleep 0.05; done`, {
      stopGraceMs: 300,
      onStderrLine: (line) => line === "ready" && trapped(),
    });
    await ready; // its trap is set: a fixed wait could end before a slow shell got that far, and SIGTERM would end it
    const started = Date.now();
    engine.abort();
    await engine.run;
    assert.ok(Date.now() - started >= 250, "waited for the grace period");
    assert.equal(await isProcessRunning(engine.pid), false);
  });

  it("rejects with the exit code, a diagnosis and the stderr tail when the engine exits by itself", async () => {
    const lines: string[] = [];
    const engine = await start(`echo starting >&2; echo "error: invalid argument: --bogus" >&2; exit 3`, {
      onStderrLine: (line) => lines.push(line),
      diagnosis: exitDiagnosis([[/invalid argument/, "an invalid command-line argument"]]),
    });
    const error = await engine.run.then(() => assert.fail("resolved"), (caught: unknown) => caught);
    assert.ok(error instanceof EngineCrashedError);
    assert.equal(error.exitCode, 3);
    assert.deepEqual(error.stderrTail, ["starting", "error: invalid argument: --bogus"]);
    assert.deepEqual(lines, error.stderrTail, "every line was forwarded as it came");
    assert.match(error.message, /^fake-engine: an invalid command-line argument: error: invalid argument: --bogus \(it exited with code 3\)/);
  });

  it("with captureStdout, reads stdout too and finds a cause written long before the end (vLLM logs to stdout, vllm/envs.py)", async () => {
    const lines: string[] = [];
    const engine = await start(`echo "ValueError: the cause" ; for i in $(seq 1 200); do echo "  File frame $i" >&2; done; exit 1`, {
      captureStdout: true,
      onStderrLine: (line) => lines.push(line),
      diagnosis: exitDiagnosis([[/ValueError/, "a value error"]]),
    });
    const error = await engine.run.then(() => assert.fail("resolved"), (caught: unknown) => caught);
    assert.ok(error instanceof EngineCrashedError);
    assert.ok(lines.includes("ValueError: the cause"), "the stdout line was forwarded");
    assert.ok(!error.stderrTail.includes("ValueError: the cause"), "the cause fell out of the tail");
    assert.match(error.message, /^fake-engine: a value error: ValueError: the cause \(it exited with code 1\)/);
  });

  it("rejects when the engine cannot be started at all", async () => {
    await assert.rejects(
      runEngineProcess(new AbortController().signal, { engine: "fake-engine", command: "/nonexistent/engine", args: [], cwd: tmpdir() }),
      (error: unknown) => error instanceof EngineCrashedError,
    );
  });
});
