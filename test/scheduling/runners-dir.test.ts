import assert from "node:assert/strict";
import { lstat, mkdir, mkdtemp, readdir, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import pino from "pino";
import { prepareRunnersDir, runnerSocketPath } from "../../src/scheduling/runners-dir.ts";

const logger = pino({ level: "silent" });

describe("prepareRunnersDir", () => {
  it("creates the directory private to this user, whatever the umask", async () => {
    const home = await mkdtemp(join(tmpdir(), "modelgate-runners-"));
    const previous = process.umask(0o000);
    try {
      const dir = await prepareRunnersDir(home, logger);
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
      await prepareRunnersDir(home, logger);
      assert.equal((await stat(dir)).mode & 0o777, 0o700);
      assert.deepEqual(await readdir(dir), ["notes.txt"]);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it("moves a directory standing at a socket path aside, contents kept, and starts (EISDIR crashed the next start)", async () => {
    const home = await mkdtemp(join(tmpdir(), "modelgate-runners-"));
    try {
      const dir = join(home, "runners");
      await mkdir(runnerSocketPath(dir, 0), { recursive: true });
      await writeFile(join(runnerSocketPath(dir, 0), "keep.txt"), "mine");
      await prepareRunnersDir(home, logger);
      const [moved, ...others] = await readdir(dir);
      assert.deepEqual(others, []);
      assert.match(moved!, /^inference-runner-0\.sock\.moved-/);
      assert.deepEqual(await readdir(join(dir, moved!)), ["keep.txt"]);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it("never follows a symlinked runners directory: its target keeps its mode and files", async () => {
    const home = await mkdtemp(join(tmpdir(), "modelgate-runners-"));
    const outside = await mkdtemp(join(tmpdir(), "modelgate-outside-"));
    try {
      await mkdir(join(outside, "shared"), { mode: 0o755 });
      await writeFile(runnerSocketPath(join(outside, "shared"), 1), "not a socket of ours");
      await symlink(join(outside, "shared"), join(home, "runners"));
      const dir = await prepareRunnersDir(home, logger);
      assert.equal((await stat(join(outside, "shared"))).mode & 0o777, 0o755, "the target's mode is untouched");
      assert.deepEqual(await readdir(join(outside, "shared")), ["inference-runner-1.sock"], "nothing in the target was deleted");
      const runners = await lstat(dir);
      assert.ok(runners.isDirectory() && !runners.isSymbolicLink(), "a real directory took the link's place");
      assert.equal(runners.mode & 0o777, 0o700);
    } finally {
      await rm(home, { recursive: true, force: true });
      await rm(outside, { recursive: true, force: true });
    }
  });
});
