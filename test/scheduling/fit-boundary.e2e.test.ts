/**
 * The lazy context fit at its edge, on the real llama-server (context 256,
 * four slots): a chat whose prompt is the context's length less one, exactly
 * it, or one more, counted as the engine counts it (its template, then its
 * tokenizer with BOS). One that fits goes once, untouched; one the engine
 * refuses is fitted and sent again exactly as fitting first would have sent
 * it — never the refusal to the client. The refused attempts are not seen:
 * no failed request in the metrics, every slot idle and the runner free
 * afterwards, concurrent refusals on parallel slots alike.
 */
import assert from "node:assert/strict";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { after, before, describe, it } from "node:test";
import { Agent, request } from "undici";
import { fitCompletionContext } from "../../src/scheduling/completion-context.ts";
import { runnerSocketPath } from "../../src/scheduling/runners-dir.ts";
import { eventually } from "../support/eventually.ts";
import { startRealEngineGateway, type RealEngineGateway } from "./real-engine-gateway.ts";

const contextSize = 256;
type Message = { role: string; content: string };

/** What undici sends to runners, in order. */
const sent: { path: string; body: string }[] = [];
const onRequest = (message: unknown) => {
  const { request: out } = message as { request: { origin: string; method: string; path: string; body?: unknown } };
  if (out.origin !== "http://runner" || out.method !== "POST") return;
  sent.push({ path: out.path, body: out.body instanceof Uint8Array ? Buffer.from(out.body).toString("utf8") : String(out.body ?? "") });
};

describe("the context fit on refusal at the context's edge (n_ctx − 1, n_ctx, n_ctx + 1 tokens)", () => {
  let gateway: RealEngineGateway;
  let runner: Agent;
  let slot: number;

  const runnerPost = async (path: string, body: unknown) => {
    const reply = await request(`http://runner${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), dispatcher: runner });
    return reply.body.json();
  };
  /** The prompt's length as llama-server counts it before refusing: its template, its tokenizer, BOS added. */
  const tokensOf = async (messages: readonly Message[]) => {
    const { prompt } = (await runnerPost("/apply-template", { messages })) as { prompt: string };
    return ((await runnerPost("/tokenize", { content: prompt, add_special: true })) as { tokens: number[] }).tokens.length;
  };
  const history: Message[] = [
    { role: "system", content: "You are a terse assistant." },
    { role: "user", content: "Tell me about the weather on the first day of the month, in a few words, please." },
    { role: "assistant", content: "The sky was grey, the wind came from the west and birds sang on the roof." },
  ];
  /** The history and a last question padded to exactly `tokens` tokens. */
  const chatOf = async (tokens: number): Promise<Message[]> => {
    for (let pad = 0; pad < 2 * contextSize; pad++) {
      const messages = [...history, { role: "user", content: `Why${" a".repeat(pad)}?` }];
      const count = await tokensOf(messages);
      if (count === tokens) return messages;
      if (count > tokens) break;
    }
    assert.fail(`no chat of exactly ${tokens} tokens`);
  };
  const chat = async (messages: readonly Message[], stream = false) => {
    const response = await fetch(`${gateway.url}/engines/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "tiny", messages, max_tokens: 1, temperature: 0, stream, truncate: true, runner_options: { "context-size": contextSize } }),
    });
    return { status: response.status, text: await response.text() };
  };
  const fittedFirst = async (body: string) =>
    JSON.parse(Buffer.from(await fitCompletionContext("/v1/chat/completions", new TextEncoder().encode(body), true, { contextSize, dispatcher: runner, model: {} }, AbortSignal.timeout(30_000))).toString()) as { messages: Message[] };

  before(async () => {
    gateway = await startRealEngineGateway();
    assert.equal((await chat([{ role: "user", content: "Hi" }])).status, 200);
    const loaded = gateway.loader.runners().find((info) => info.contextSize === contextSize);
    assert.ok(loaded, "a runner of the asked context");
    slot = loaded.slot;
    runner = new Agent({ connect: { socketPath: runnerSocketPath(gateway.runnersDir, slot) } });
    subscribe("undici:request:create", onRequest);
  });

  after(async () => {
    unsubscribe("undici:request:create", onRequest);
    await runner?.close();
    await gateway?.close();
  });

  it("n_ctx − 1 tokens: sent once, as it came, and answered", async () => {
    const messages = await chatOf(contextSize - 1);
    for (const stream of [false, true]) {
      sent.length = 0;
      const { status, text } = await chat(messages, stream);
      assert.equal(status, 200, text);
      assert.deepEqual(sent.map((one) => one.path), ["/v1/chat/completions"], `stream: ${stream}`);
      assert.deepEqual((JSON.parse(sent[0]!.body) as { messages: Message[] }).messages, messages);
    }
  });

  for (const over of [0, 1]) {
    it(`n_ctx${over ? " + 1" : ""} tokens: refused by the engine, then sent as fitting first sends it (the oldest message dropped, the system prompt kept)`, async () => {
      const messages = await chatOf(contextSize + over);
      for (const stream of [false, true]) {
        sent.length = 0;
        const { status, text } = await chat(messages, stream);
        assert.equal(status, 200, text);
        const completions = sent.filter((one) => one.path === "/v1/chat/completions");
        assert.equal(completions.length, 2, `stream: ${stream}: sent, then fitted and sent again`);
        const resent = JSON.parse(completions[1]!.body) as { messages: Message[] };
        assert.deepEqual(resent, await fittedFirst(completions[0]!.body));
        assert.deepEqual(resent.messages, [messages[0], ...messages.slice(2)]);
      }
    });
  }

  it("four refused at once on four slots: each fitted and answered; no failed request counted; every slot idle and the runner free after", async () => {
    const messages = await chatOf(contextSize + 1);
    const replies = await Promise.all([0, 1, 2, 3].map((turn) => chat(messages, turn % 2 === 0)));
    for (const { status, text } of replies) assert.equal(status, 200, text);

    const series = (await gateway.metrics.registry.getSingleMetricAsString("modelgate_engine_requests_total")).split("\n").filter((line) => line.includes('model="tiny'));
    assert.ok(series.some((line) => line.includes('outcome="completed"')), series.join("\n"));
    assert.deepEqual(series.filter((line) => !line.includes('outcome="completed"')), [], "no request counted as failed or cancelled");
    // Every chat this file sent, each counted once: 1 to load, 2 below the edge, 2 × 2 at and past it, 4 here.
    assert.match(series.find((line) => line.includes('outcome="completed"'))!, / 11$/);

    await eventually(async () => gateway.loader.runners().every((info) => info.inUse === 0), "the runner free");
    const slots = (await gateway.runnerGet(slot, "/slots")) as { is_processing: boolean }[];
    assert.equal(slots.length, 4);
    assert.deepEqual(slots.map((one) => one.is_processing), [false, false, false, false]);
  });
});
