/**
 * A client that leaves a stream mid-way, on every dialect the gateway writes
 * straight to Node's response (the runner proxy on undici's dispatch, the
 * translators, streamReply): the engine's generation stops (llama-server's
 * slot idle again, seen on the runner's own /slots) and the runner is free
 * (/engines/ps), though the generation could not end by itself. The
 * client is fetch, aborted after its first bytes.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Agent, request } from "undici";
import { runnerSocketPath } from "../../src/scheduling/runners-dir.ts";
import { eventually } from "../support/eventually.ts";
import { startGateway, type GatewayProcess } from "../support/gateway.ts";

const messages = [{ role: "user", content: "Say something." }];
const endless = 1_000_000_000;

const cases = [
  { path: "/api/chat", body: { model: "tiny", messages, options: { num_predict: endless } } },
  { path: "/api/generate", body: { model: "tiny", prompt: "hi", options: { num_predict: endless } } },
  { path: "/v1/chat/completions", body: { model: "tiny", stream: true, messages, max_tokens: endless } },
  { path: "/v1/messages", body: { model: "tiny", stream: true, max_tokens: endless, messages } },
  { path: "/v1/responses", body: { model: "tiny", stream: true, input: "hi", max_output_tokens: endless } },
  { path: "/engines/v1/chat/completions", body: { model: "tiny", stream: true, messages, max_tokens: endless } },
];

interface RunnerView {
  readonly slot: number;
  readonly in_use: boolean;
  readonly requests_in_flight: number;
}

describe("a client leaving a stream mid-way, per dialect (real engine)", () => {
  let gateway: GatewayProcess;
  const agents: Agent[] = [];
  const runners = async () => (await (await fetch(`${gateway.url}/engines/ps`)).json()) as RunnerView[];
  /** llama-server's own view of its slots, on the runner's socket. */
  const slots = async (slot: number) => {
    const agent = new Agent({ connect: { socketPath: runnerSocketPath(join(gateway.home, "runners"), slot) } });
    agents.push(agent);
    const { body } = await request("http://runner/slots", { dispatcher: agent });
    return (await body.json()) as { is_processing: boolean }[];
  };

  before(async () => {
    gateway = await startGateway();
    // Generations that only the client's leaving can end: no end-of-sequence, no runner bound on tokens, the context shifting.
    const configured = await fetch(`${gateway.url}/engines/_configure`, {
      method: "POST",
      body: JSON.stringify({ model: "tiny", "context-size": 2048, "runtime-flags": ["--ignore-eos", "--n-predict", "-1"] }),
    });
    assert.equal(configured.status, 200, await configured.text());
  });
  after(async () => {
    await Promise.all(agents.map((agent) => agent.close()));
    await gateway?.stop();
  });

  for (const { path, body } of cases) {
    it(`${path}: the engine stops, its slot is idle and the runner free`, async () => {
      const leaving = new AbortController();
      const response = await fetch(`${gateway.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: leaving.signal,
      });
      assert.equal(response.status, 200);
      const reader = response.body!.getReader();
      const first = await reader.read();
      assert.ok(first.value && first.value.length > 0, "the stream had begun");
      const [runner] = await runners();
      assert.ok(runner?.in_use, "the runner in use while streaming");
      assert.ok((await slots(runner.slot)).some((one) => one.is_processing), "the engine generating");
      leaving.abort();
      await reader.cancel().catch(() => {});
      await eventually(async () => (await runners()).every((one) => !one.in_use && one.requests_in_flight === 0), "the runner released", 60_000);
      await eventually(async () => (await slots(runner.slot)).every((one) => !one.is_processing), "every slot idle", 60_000);
    });
  }

  for (const { path, body } of cases.filter((one) => ["/api/chat", "/v1/messages", "/v1/responses", "/engines/v1/chat/completions"].includes(one.path))) {
    it(`${path}: a client leaving once the engine is at work on a long prompt stops it too`, async () => {
      const leaving = new AbortController();
      // Its own words first: a prompt the slot has cached would be read at once.
      const long = `${path} ${Math.random()}: ` + "Tell me about the weather. ".repeat(250);
      const asked = "messages" in body ? { ...body, messages: [{ role: "user", content: long }] } : { ...body, input: long };
      const reply = fetch(`${gateway.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(asked),
        signal: leaving.signal,
      }).then(
        // Left after the headers (the engine quick to its first token): the read ends with the abort.
        async (response) => response.text().then((text) => (ended = `${response.status} ${text.slice(0, 300)}`), () => "left"),
        () => "left",
      );
      let ended: string | undefined;
      const inUse = async () => {
        if (ended) assert.fail(`the reply ended by itself: ${ended}`);
        return (await runners()).find((one) => one.in_use);
      };
      const runner = await eventually(inUse, "the runner in use");
      await eventually(async () => (await slots(runner.slot)).some((one) => one.is_processing), "the engine reading the prompt");
      leaving.abort();
      await reply;
      await eventually(async () => (await runners()).every((one) => !one.in_use && one.requests_in_flight === 0), "the runner released", 60_000);
      await eventually(async () => (await slots(runner.slot)).every((one) => !one.is_processing), "every slot idle", 60_000);
    });
  }
});
