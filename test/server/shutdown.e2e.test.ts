import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { startGateway } from "../support/gateway.ts";
import { descendants, waitForExit } from "../support/processes.ts";

async function engines(gatewayPid: number) {
  return (await descendants(gatewayPid)).filter((process) => process.name === "llama-server").map((process) => process.pid);
}

async function readNdjson(response: Response): Promise<Record<string, unknown>[]> {
  const text = await response.text();
  return text.split("\n").filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("gateway shutdown", () => {
  it("on SIGTERM lets a stream in flight finish, then stops every runner and removes its socket", async () => {
    // A grace no loaded machine runs out of: past it the stream would end with an error line (faults.e2e).
    const gateway = await startGateway({ env: { MODELGATE_SHUTDOWN_GRACE: "300" } });
    const runnersDir = join(gateway.home, "runners");
    try {
      const response = await fetch(`${gateway.url}/api/generate`, {
        method: "POST",
        body: JSON.stringify({ model: "tiny", prompt: "hello", options: { num_predict: 40 } }),
      });
      assert.equal(response.status, 200);
      const reader = response.body!.getReader();
      const first = await reader.read(); // the runner is loaded and streaming
      assert.ok(first.value?.length);
      const pids = await engines(gateway.child.pid!);
      assert.equal(pids.length, 1, "one llama-server runs for the model");
      assert.deepEqual(await readdir(runnersDir), ["inference-runner-0.sock"]);

      gateway.child.kill("SIGTERM");
      let rest = new TextDecoder().decode(first.value);
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += new TextDecoder().decode(chunk.value);
      const lines = rest.split("\n").filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
      assert.equal(lines.filter((line) => line.done === true).length, 1, "the stream ends with its done object");
      assert.equal(lines.at(-1)?.done_reason, "length");

      assert.equal(await new Promise((resolve) => gateway.child.once("exit", resolve)), 0);
      assert.deepEqual(await waitForExit(pids, 5_000), [], "no llama-server survives the gateway");
      assert.deepEqual(await readdir(runnersDir), [], "no socket is left behind");
    } finally {
      await gateway.stop();
    }
  });

  it("after SIGKILL of the gateway its runners exit on their own, and the next start clears stale sockets", async () => {
    const home = await mkdtemp(join(tmpdir(), "modelgate-kill-"));
    try {
      const gateway = await startGateway({ env: { MODELGATE_HOME: home } });
      const reply = await readNdjson(
        await fetch(`${gateway.url}/api/generate`, {
          method: "POST",
          body: JSON.stringify({ model: "tiny", prompt: "hi", stream: false, options: { num_predict: 2 } }),
        }),
      );
      assert.equal(reply[0]?.done, true);
      const pids = await engines(gateway.child.pid!);
      assert.equal(pids.length, 1);

      gateway.child.kill("SIGKILL");
      assert.deepEqual(await waitForExit(pids, 10_000), [], "the runner noticed its parent was gone");
      await gateway.stop();

      const next = await startGateway({ env: { MODELGATE_HOME: home } });
      try {
        assert.deepEqual(await readdir(join(home, "runners")), [], "stale sockets were removed at start");
        const again = await readNdjson(
          await fetch(`${next.url}/api/generate`, {
            method: "POST",
            body: JSON.stringify({ model: "tiny", prompt: "hi", stream: false, options: { num_predict: 2 } }),
          }),
        );
        assert.equal(again[0]?.done, true, "the next gateway serves the model again");
      } finally {
        await next.stop();
      }
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
