import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { mkdtemp, readFile, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { describe, it } from "node:test";
import { tryFileLock, withFileLock } from "../../src/utilities/file-lock.ts";

const lockModule = new URL("../../src/utilities/file-lock.ts", import.meta.url).href;

/** A separate process that holds the lock for `holdMs`, journaling when it enters and leaves. */
function lockInAnotherProcess(lock: string, journal: string, holdMs: number): Promise<unknown> {
  const script = `
    import { appendFile } from "node:fs/promises";
    import { withFileLock } from ${JSON.stringify(lockModule)};
    await withFileLock(${JSON.stringify(lock)}, async () => {
      await appendFile(${JSON.stringify(journal)}, "enter\\n");
      await new Promise((r) => setTimeout(r, ${holdMs}));
      await appendFile(${JSON.stringify(journal)}, "leave\\n");
    }, { pollMs: 20 });`;
  return promisify(execFile)(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script]);
}

describe("withFileLock", () => {
  it("lets one process in at a time", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mg-lock-"));
    const journal = join(dir, "journal");
    await writeFile(journal, "");
    await Promise.all([1, 2, 3].map(() => lockInAnotherProcess(join(dir, "build.lock"), journal, 200)));
    assert.equal(await readFile(journal, "utf8"), "enter\nleave\n".repeat(3));
    assert.deepEqual(await readdir(dir), ["journal"], "the lock and its drafts are gone");
  });

  it("breaks a lock left by a dead process", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mg-lock-"));
    const deadPid = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString();
    await writeFile(join(dir, "build.lock"), `${deadPid} stale`);
    assert.equal(await withFileLock(join(dir, "build.lock"), async () => "ran"), "ran");
  });

  it("waits for a live holder, reporting it once, and can be aborted while waiting", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mg-lock-"));
    const lock = join(dir, "build.lock");
    await writeFile(lock, `${process.ppid} someone else`);
    const waits: number[] = [];
    const controller = new AbortController();
    const waiting = withFileLock(lock, async () => "ran", { signal: controller.signal, pollMs: 10, onWait: (pid) => waits.push(pid) });
    await sleep(100);
    controller.abort(new Error("gave up"));
    await assert.rejects(waiting, /gave up/);
    assert.deepEqual(waits, [process.ppid]);
    assert.equal(await readFile(lock, "utf8"), `${process.ppid} someone else`, "another's lock is left alone");
  });

  it("tryFileLock: names a live holder without waiting; takes over a lock naming a dead pid or this very pid (a restarted container)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mg-lock-"));
    const lock = join(dir, "gateway.lock");
    await writeFile(lock, `${process.ppid} another gateway`);
    assert.deepEqual(await tryFileLock(lock), { heldBy: process.ppid });
    await writeFile(lock, `${process.pid} an earlier process with our pid`);
    const held = await tryFileLock(lock);
    assert.ok("release" in held);
    assert.match(await readFile(lock, "utf8"), new RegExp(`^${process.pid} `));
    await held.release();
    assert.deepEqual(await readdir(dir), [], "released");
  });
});
