import assert from "node:assert/strict";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, it } from "node:test";
import { CommandFailedError, runCommand } from "../../src/backends/run-command.ts";
import { isProcessRunning } from "../support/processes.ts";

describe("runCommand", () => {
  it("resolves with stdout and hands every line over as it comes", async () => {
    const lines: string[] = [];
    const stdout = await runCommand("bash", ["-c", "echo one; echo two >&2"], { onLine: (line) => lines.push(line) });
    assert.equal(stdout, "one\n");
    assert.deepEqual(lines.sort(), ["one", "two"]);
  });

  it("rejects with the command's last lines when it fails", async () => {
    await assert.rejects(runCommand("bash", ["-c", "echo 'no such target' >&2; exit 2"]), (error: unknown) => {
      assert.ok(error instanceof CommandFailedError);
      assert.match(error.message, /exited with code 2\nno such target$/);
      return true;
    });
    await assert.rejects(runCommand("/nonexistent/cmake", []), /could not start/);
  });

  it("stops the command and what it started when aborted", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mg-run-"));
    const controller = new AbortController();
    const running = runCommand("bash", ["-c", `sleep 1000 & echo $! > ${dir}/child; wait`], { signal: controller.signal });
    while (!(await readFile(join(dir, "child"), "utf8").catch(() => ""))) await sleep(5);
    controller.abort(new Error("build cancelled"));
    await assert.rejects(running, /build cancelled/);
    const child = Number(await readFile(join(dir, "child"), "utf8"));
    await sleep(50);
    assert.equal(await isProcessRunning(child), false, "the grandchild is gone");
  });
});
