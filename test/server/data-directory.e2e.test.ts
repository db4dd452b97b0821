/**
 * Faults in the data directory, on the real gateway process and the real
 * engine: a second gateway on the same home, a directory standing at a
 * runner's socket path (before start and while serving), a runner whose
 * socket vanished while it lives, and a runners directory that is a
 * symbolic link out of the home.
 */
import assert from "node:assert/strict";
import { lstat, mkdir, mkdtemp, readdir, rm, stat, symlink, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { setTimeout } from "node:timers/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { startGateway, type GatewayProcess } from "../support/gateway.ts";
import { descendants, waitForExit } from "../support/processes.ts";

const messages = [{ role: "user", content: "Say something." }];

function chat(gateway: GatewayProcess, model = "tiny"): Promise<Response> {
  return fetch(`${gateway.url}/api/chat`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, messages, stream: false, options: { num_predict: 2 } }),
  });
}

async function chatDone(gateway: GatewayProcess, model = "tiny"): Promise<void> {
  const response = await chat(gateway, model);
  const body = (await response.json()) as { done?: boolean; error?: string };
  assert.equal(response.status, 200, body.error);
  assert.equal(body.done, true);
}

async function engines(gateway: GatewayProcess): Promise<number[]> {
  return (await descendants(gateway.child.pid!)).filter((process) => process.name === "llama-server").map((process) => process.pid);
}

const socketOf = (home: string, slot: number) => join(home, "runners", `inference-runner-${slot}.sock`);

async function withHome<T>(use: (home: string) => Promise<T>): Promise<T> {
  const home = await mkdtemp(join(tmpdir(), "modelgate-home-"));
  try {
    return await use(home);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

describe("the data directory", () => {
  it("a second gateway on the same MODELGATE_HOME exits 1 naming the first, which keeps its runner and serves on", () =>
    withHome(async (home) => {
      const first = await startGateway({ home });
      try {
        await chatDone(first);
        const [engine] = await engines(first);
        await assert.rejects(
          startGateway({ home }),
          /exited with 1 before listening.*another gateway \(pid \d+\) is using the data directory/,
        );
        assert.ok((await lstat(socketOf(home, 0))).isSocket(), "the first gateway's runner socket is still there");
        await chatDone(first);
        assert.deepEqual(await engines(first), [engine], "served by the same runner");
      } finally {
        await first.stop();
      }
      const next = await startGateway({ home });
      await next.stop();
    }));

  it("a directory at a runner's socket path neither stops the start nor crashes the gateway: moved aside, the runner starts", () =>
    withHome(async (home) => {
      await mkdir(socketOf(home, 0), { recursive: true });
      const gateway = await startGateway({ home });
      try {
        await mkdir(socketOf(home, 0)); // again, while serving, where the next runner binds
        await writeFile(join(socketOf(home, 0), "keep.txt"), "not the gateway's to delete");
        await chatDone(gateway);
        assert.ok((await lstat(socketOf(home, 0))).isSocket());
        const moved = (await readdir(join(home, "runners"))).filter((name) => name.includes(".moved-"));
        assert.equal(moved.length, 2, "both directories were kept, beside the socket");
        assert.ok(gateway.logs.some((line) => /directory stood at .*socket path/.test(String(line.msg))), "the log says so");
        assert.equal(gateway.child.exitCode, null, "still running");
      } finally {
        await gateway.stop();
      }
    }));

  it("a runner whose socket vanished while it lives is stopped and replaced by the next request", () =>
    withHome(async (home) => {
      const gateway = await startGateway({ home });
      try {
        await chatDone(gateway);
        const [engine] = await engines(gateway);
        await unlink(socketOf(home, 0));
        // A connection kept alive from the last request still reaches the runner (an unlinked socket keeps its
        // connections); once the runner proxy lets it go (2 s idle), the next request must connect, and cannot.
        await setTimeout(2_500);
        const failed = await chat(gateway);
        assert.equal(failed.status, 500);
        assert.match(((await failed.json()) as { error: string }).error, /runner could not be reached/);
        assert.deepEqual(await waitForExit([engine!], 15_000), [], "the unreachable runner was stopped");
        await chatDone(gateway);
        const [replacement] = await engines(gateway);
        assert.notEqual(replacement, engine, "a new runner serves");
      } finally {
        await gateway.stop();
      }
    }));

  it("a symlinked runners directory is replaced, never followed: its target keeps its mode and files", () =>
    withHome(async (home) => {
      const outside = await mkdtemp(join(tmpdir(), "modelgate-outside-"));
      try {
        await mkdir(join(outside, "shared"), { mode: 0o755 });
        await writeFile(join(outside, "shared", "inference-runner-0.sock"), "someone else's");
        await symlink(join(outside, "shared"), join(home, "runners"));
        const gateway = await startGateway({ home });
        try {
          await chatDone(gateway);
          assert.equal((await stat(join(outside, "shared"))).mode & 0o777, 0o755, "the target's mode is untouched");
          assert.deepEqual(await readdir(join(outside, "shared")), ["inference-runner-0.sock"], "nothing created or deleted there");
          const runners = await lstat(join(home, "runners"));
          assert.ok(runners.isDirectory() && !runners.isSymbolicLink());
          assert.equal(runners.mode & 0o777, 0o700);
        } finally {
          await gateway.stop();
        }
      } finally {
        await rm(outside, { recursive: true, force: true });
      }
    }));
});

