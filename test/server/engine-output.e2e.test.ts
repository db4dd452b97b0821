/**
 * The engine's output once it has loaded, read in batches (engine-process,
 * line-batches), attacked through the real gateway: a real llama-server
 * behind a wrapper that, on the test's word, floods the shared stderr a line
 * per write, then says its last words and dies mid-request. The flood must
 * never hold the engine up (a full pipe blocks its writes), `GET /logs`
 * follows the lines, and the client of the request in flight gets the crash
 * with those last words, not a hang.
 */
import assert from "node:assert/strict";
import { chmod, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { eventually } from "../support/eventually.ts";
import { startGateway, type GatewayProcess } from "../support/gateway.ts";
import { llamaServerForTests } from "../support/engine.ts";
import { descendants, waitForExit } from "../support/processes.ts";

const messages = [{ role: "user", content: "Say something." }];
/** A line per write, a tenth of a millisecond apart: read one chunk per rest, the pipe filled in a second and the writer waited. */
const floodLines = 10_000;

/** A runner: the real engine in the background; on FLOOD: the flood; on DIE: last words, the engine killed, exit 3. */
const chattyEngine = `#!/bin/bash
case " $* " in *" --host "*) ;; *) exec "$REAL_LLAMA_SERVER" "$@" ;; esac # --list-devices, --version: as it is
"$REAL_LLAMA_SERVER" "$@" &
engine=$!
trap 'kill -TERM $engine $flood 2>/dev/null; wait $engine; exit 0' TERM INT
while [ ! -e "$TRIGGERS/flood" ]; do sleep 0.05; done
"$NODE" -e 'for (let i = 1; i <= Number(process.env.FLOOD_LINES); i++) { require("fs").writeSync(2, "flood line " + i + " of a chatty engine, ünïcödé\\n"); const start = process.hrtime.bigint(); while (process.hrtime.bigint() - start < 100000n); }' &
flood=$!
wait $flood
touch "$TRIGGERS/flooded"
while [ ! -e "$TRIGGERS/die" ]; do sleep 0.05; done
printf 'last words: out of patience\\r\\nno newline at exit' >&2
kill -KILL $engine
exit 3
`;

describe("a loaded engine's output, read in batches (real engine behind a chatty wrapper)", () => {
  let dir: string;
  let gateway: GatewayProcess;
  const post = (path: string, body: unknown) => fetch(`${gateway.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "modelgate-chatty-"));
    const engine = join(dir, "llama-server");
    await writeFile(engine, chattyEngine);
    await chmod(engine, 0o755);
    gateway = await startGateway({ env: { LLAMA_SERVER_PATH: engine, REAL_LLAMA_SERVER: await llamaServerForTests(), TRIGGERS: dir, NODE: process.execPath, FLOOD_LINES: String(floodLines) } });
  });
  after(async () => {
    await gateway?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("an engine flooding its log a line per write after loading is never held up, serves meanwhile, and /logs follows every line", { timeout: 120_000 }, async () => {
    const loaded = await post("/api/chat", { model: "tiny", messages, stream: false, options: { num_predict: 2 } });
    assert.equal(((await loaded.json()) as { done: boolean }).done, true);
    const follow = new AbortController();
    const followed = await fetch(`${gateway.url}/logs?follow=1&model=tiny&tail=0`, { signal: follow.signal });
    assert.equal(followed.status, 200);
    const reader = followed.body!.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";

    await writeFile(join(dir, "flood"), "");
    const served = await post("/api/chat", { model: "tiny", messages, stream: false, options: { num_predict: 4 } });
    assert.equal(((await served.json()) as { done: boolean }).done, true, "served during the flood");
    await eventually(() => stat(join(dir, "flooded")).then(() => true, () => false), "the flood written to its end (the pipe never stayed full)", 60_000);
    while (!seen.includes(`flood line ${floodLines} of a chatty engine, ünïcödé`)) {
      const { value, done } = await reader.read();
      assert.equal(done, false, "the follow stream ended early");
      seen += value;
    }
    follow.abort();
    assert.ok(seen.includes("flood line 1 of a chatty engine, ünïcödé\n"), "lines whole, UTF-8 intact");
  });

  it("an engine dying mid-request after its flood fails that request with its last words, without a hang", { timeout: 120_000 }, async () => {
    const configured = await post("/engines/_configure", { model: "tiny", "context-size": 2048, "runtime-flags": ["--ignore-eos", "--n-predict", "-1"] });
    assert.equal(configured.status, 200);
    const reply = post("/api/chat", { model: "tiny", messages, stream: false, options: { num_predict: 1_000_000_000 } }).then(async (response) => ({ status: response.status, text: await response.text() }));
    await eventually(async () => ((await (await fetch(`${gateway.url}/engines/ps`)).json()) as { in_use: boolean }[]).some((one) => one.in_use), "the generation under way", 90_000);
    await writeFile(join(dir, "die"), "");
    const { status, text } = await reply;
    assert.ok(status >= 500, `status ${status}: ${text.slice(0, 300)}`);
    const { error } = JSON.parse(text) as { error: string };
    assert.match(error, /exited with code 3/);
    assert.match(error, /last words: out of patience\nno newline at exit/);
  });
});

describe("a gateway stopped (SIGTERM) while its engine floods its log", () => {
  it("exits by itself, and its engine with it", { timeout: 120_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), "modelgate-chatty-"));
    try {
      const engine = join(dir, "llama-server");
      await writeFile(engine, chattyEngine);
      await chmod(engine, 0o755);
      const env = { LLAMA_SERVER_PATH: engine, REAL_LLAMA_SERVER: await llamaServerForTests(), TRIGGERS: dir, NODE: process.execPath, FLOOD_LINES: "100000000" };
      const gateway = await startGateway({ env });
      const loaded = await fetch(`${gateway.url}/api/chat`, { method: "POST", body: JSON.stringify({ model: "tiny", messages, stream: false, options: { num_predict: 2 } }) });
      assert.equal(((await loaded.json()) as { done: boolean }).done, true);
      const processes = (await descendants(gateway.child.pid!)).map((one) => one.pid);
      await writeFile(join(dir, "flood"), "");
      await eventually(async () => (await (await fetch(`${gateway.url}/logs?tail=5`)).text()).includes("flood line"), "the flood under way");
      assert.equal(await gateway.stop(60_000), 0, "exited by itself within its grace");
      assert.deepEqual(await waitForExit(processes, 15_000), [], "no engine, wrapper or flood survives the gateway");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** Loads slowly, saying so every half second for four seconds, then is the real engine. */
const slowLoader = `#!/bin/bash
case " $* " in *" --host "*) ;; *) exec "$REAL_LLAMA_SERVER" "$@" ;; esac
for i in 1 2 3 4 5 6 7 8; do echo "load_tensors: still loading, part $i of 8" >&2; sleep 0.5; done
exec "$REAL_LLAMA_SERVER" "$@"
`;

describe("the load timeout counts from an engine's last output while it loads", () => {
  it("an engine loading longer than the timeout, but logging as it goes, is not killed and serves", { timeout: 120_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), "modelgate-slow-"));
    const engine = join(dir, "llama-server");
    await writeFile(engine, slowLoader);
    await chmod(engine, 0o755);
    const gateway = await startGateway({ env: { LLAMA_SERVER_PATH: engine, REAL_LLAMA_SERVER: await llamaServerForTests(), MODELGATE_LOAD_TIMEOUT: "3s" } });
    try {
      const response = await fetch(`${gateway.url}/api/chat`, { method: "POST", body: JSON.stringify({ model: "tiny", messages, stream: false, options: { num_predict: 2 } }) });
      const body = (await response.json()) as { done?: boolean; error?: string };
      assert.equal(response.status, 200, body.error);
      assert.equal(body.done, true);
    } finally {
      await gateway.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
