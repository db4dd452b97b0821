/**
 * A client that hangs up on a `stream: false` completion (it reads nothing
 * until the end) must stop the engine's generation and free its runner,
 * however long it waited: the hang-up used to be lost once the garbage
 * collector took the internal Request that followed the client's signal,
 * which a minute of waiting lets it do (V8 collects the old generation when
 * the process idles).
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { startGateway, type GatewayProcess } from "../support/gateway.ts";
import { eventually } from "../support/eventually.ts";

interface RunnerView {
  readonly in_use: boolean;
  readonly requests_in_flight?: number;
}

async function runners(gateway: GatewayProcess): Promise<RunnerView[]> {
  return (await (await fetch(`${gateway.url}/engines/ps`)).json()) as RunnerView[];
}

/** Sends `body` to `path` on a raw socket and returns the socket, its reply unread. */
function sendRaw(gateway: GatewayProcess, path: string, body: unknown) {
  const { hostname, port } = new URL(gateway.url);
  const json = JSON.stringify(body);
  const socket = connect({ host: hostname, port: Number(port) });
  socket.on("error", () => {});
  socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`);
  return socket;
}

/** Long enough for V8's idle collections to run in the gateway. */
const waitBeforeHangingUpMs = 65_000;

describe("a client hanging up on a stream: false completion (real engine)", () => {
  let gateway: GatewayProcess;
  before(async () => {
    gateway = await startGateway();
  });
  after(() => gateway?.stop());

  it("/api/generate and /api/chat: a minute in, the engine stops and the runner is released and serves the next request", async () => {
    // A generation that cannot end by itself before the hang-up, however fast the machine: the
    // end-of-sequence token is never sampled (`--ignore-eos`), the runner's own bound of ten contexts
    // is lifted (`--n-predict -1`, the later flag wins) and the context shifts, so only num_predict ends it.
    // Each shifts within its own slot's cache, so neither fills the other's.
    const configured = await fetch(`${gateway.url}/engines/_configure`, {
      method: "POST",
      body: JSON.stringify({ model: "tiny", "context-size": 4096, "runtime-flags": ["--ignore-eos", "--n-predict", "-1"] }),
    });
    assert.equal(configured.status, 200, await configured.text());
    const options = { num_predict: 1_000_000_000 };
    const sockets = [
      sendRaw(gateway, "/api/generate", { model: "tiny", prompt: "hi", stream: false, options }),
      sendRaw(gateway, "/api/chat", { model: "tiny", messages: [{ role: "user", content: "hi" }], stream: false, options }),
    ];
    await eventually(async () => (await runners(gateway)).some((r) => (r.requests_in_flight ?? 0) === 2), "both generations to start", 120_000);
    await sleep(waitBeforeHangingUpMs);
    assert.equal((await runners(gateway)).reduce((sum, r) => sum + (r.requests_in_flight ?? 0), 0), 2, "both still in flight at the hang-up");
    for (const socket of sockets) socket.destroy();
    await eventually(async () => (await runners(gateway)).every((r) => !r.in_use && (r.requests_in_flight ?? 0) === 0), "the runner to be released", 60_000);
    const next = await fetch(`${gateway.url}/api/generate`, {
      method: "POST",
      body: JSON.stringify({ model: "tiny", prompt: "hi", stream: false, options: { num_predict: 2 } }),
    });
    assert.equal(((await next.json()) as { done: boolean }).done, true);
  });
});
