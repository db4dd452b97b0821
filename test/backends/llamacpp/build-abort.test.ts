import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import { ensureLlamaServer } from "../../../src/backends/llamacpp/install.ts";
import { ensureLlamaCppSource, llamaCppCacheDir } from "../../../src/backends/llamacpp/source.ts";

const saved = { ...process.env };
after(() => {
  process.env = { ...saved };
});

it("leaves nothing that looks built when a build is aborted", async () => {
  const source = await ensureLlamaCppSource(); // the real cache's checkout, shared read-only
  process.env.MODELGATE_CACHE_DIR = await mkdtemp(join(tmpdir(), "mg-build-abort-"));
  process.env.MODELGATE_LLAMA_CUDA = "off";
  process.env.MODELGATE_LLAMA_BUILD = "source"; // the full build, not the server alone on the prebuilt libraries
  process.env.PATH = "/usr/local/bin:/usr/bin:/bin";
  delete process.env.LLAMA_SERVER_PATH;
  const root = llamaCppCacheDir();
  await mkdir(root, { recursive: true });
  await symlink(source.dir, join(root, "src"));

  const controller = new AbortController();
  const stages: string[] = [];
  const building = ensureLlamaServer({
    signal: controller.signal,
    onProgress: ({ stage, percent }) => {
      stages.push(stage);
      if (stage === "build" && percent !== undefined && percent > 0) controller.abort(new Error("build cancelled"));
    },
  });
  await assert.rejects(building, /build cancelled/);
  assert.deepEqual([...new Set(stages)], ["configure", "build"]);
  assert.deepEqual(await readdir(root), ["src"], "no variant directory, scratch or lock is left");
  const compilers = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" }).split("\n").filter((line) => line.includes(root));
  assert.deepEqual(compilers, [], "the build's processes are gone");
});
