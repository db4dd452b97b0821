import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { promisify } from "node:util";

const writer = new URL("../../../src/models/store/flushing-file-writer.ts", import.meta.url).pathname;

/** Writes `bytes` in one chunk through the writer, in a process whose files may not pass `limit` bytes. */
async function writeUnderFileSizeLimit(path: string, bytes: number, limit: number): Promise<string> {
  const script = `
    import { pipeline } from "node:stream/promises";
    import { flushingFileWriter } from ${JSON.stringify(writer)};
    await pipeline([Buffer.alloc(${bytes}, 1)], await flushingFileWriter(${JSON.stringify(path)}, 0))
      .then(() => console.log("written"), (error) => console.log(error.code));
  `;
  const run = promisify(execFile);
  const { stdout } = await run("prlimit", [`--fsize=${limit}`, "--", process.execPath, "--import", "tsx", "--input-type=module", "-e", script]);
  return stdout.trim();
}

describe("the flushing file writer", () => {
  const dirs: string[] = [];
  after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

  it("fails a write the file system took only part of, rather than leave the rest out", async () => {
    const dir = await mkdtemp(join(tmpdir(), "modelgate-writer-"));
    dirs.push(dir);
    const path = join(dir, "blob");
    assert.equal(await writeUnderFileSizeLimit(path, 1500, 4096), "written");
    assert.equal(await writeUnderFileSizeLimit(path, 6000, 4096), "EFBIG");
    assert.equal((await stat(path)).size, 4096, "the file holds what fitted");
  });
});
