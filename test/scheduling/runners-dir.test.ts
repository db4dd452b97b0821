import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { prepareRunnersDir, runnerSocketPath } from "../../src/scheduling/runners-dir.ts";

describe("prepareRunnersDir", () => {
  it("creates the directory private to this user, whatever the umask", async () => {
    const home = await mkdtemp(join(tmpdir(), "modelgate-runners-"));
    const previous = process.umask(0o000);
    try {
      const dir = await prepareRunnersDir(home);
      assert.equal((await stat(dir)).mode & 0o777, 0o700);
    } finally {
      process.umask(previous);
      await rm(home, { recursive: true, force: true });
    }
  });

  it("narrows an existing, wider directory and removes stale sockets only", async () => {
    const home = await mkdtemp(join(tmpdir(), "modelgate-runners-"));
    try {
      await mkdir(join(home, "runners"), { mode: 0o777 });
      const dir = join(home, "runners");
      await writeFile(runnerSocketPath(dir, 3), "");
      await writeFile(join(dir, "notes.txt"), "");
      await prepareRunnersDir(home);
      assert.equal((await stat(dir)).mode & 0o777, 0o700);
      assert.deepEqual(await readdir(dir), ["notes.txt"]);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
