/**
 * A chat (or a generate's continued context) too long for its context is sent, refused by llama-server, fitted
 * and sent again on the same lease: what Ollama reports and honours of that
 * one request must be as if it had been fitted first — the load it waited
 * for (load_duration), its keep_alive (0 unloads the runner at once, an hour
 * keeps it), and a prompt that fits the context (prompt_eval_count).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { eventually } from "../support/eventually.ts";
import { startGateway, type GatewayProcess } from "../support/gateway.ts";
import { longChat } from "../support/long-chat.ts";

interface ChatReply {
  done: boolean;
  load_duration: number;
  prompt_eval_count: number;
}
interface Ps {
  models: { name: string; expires_at: string }[];
}

describe("a chat refused for its length, fitted and sent again (real engine, /api/chat)", () => {
  let gateway: GatewayProcess;
  before(async () => {
    gateway = await startGateway();
  });
  after(() => gateway?.stop());

  const chat = async (keepAlive: number | string) => {
    const response = await fetch(`${gateway.url}/api/chat`, {
      method: "POST",
      body: JSON.stringify({ model: "tiny", messages: longChat, stream: false, keep_alive: keepAlive, options: { num_ctx: 256, num_predict: 1, temperature: 0 } }),
    });
    const text = await response.text();
    assert.equal(response.status, 200, text);
    return JSON.parse(text) as ChatReply;
  };
  const ps = async () => (await (await fetch(`${gateway.url}/api/ps`)).json()) as Ps;

  it("the request that loaded the runner reports its load; keep_alive 0 unloads it after the resend", async () => {
    const reply = await chat(0);
    assert.equal(reply.done, true);
    assert.ok(reply.load_duration > 0, `load_duration ${reply.load_duration}`);
    assert.ok(reply.prompt_eval_count > 0 && reply.prompt_eval_count < 256, `prompt_eval_count ${reply.prompt_eval_count}`);
    await eventually(async () => (await ps()).models.length === 0, "the runner unloaded (keep_alive 0)", 60_000);
  });

  it("keep_alive of an hour keeps the runner after the resend", async () => {
    const before = Date.now();
    await chat("1h");
    const [model] = (await ps()).models;
    assert.ok(model, "the runner kept");
    assert.ok(Date.parse(model.expires_at) - before > 30 * 60_000, `expires_at ${model.expires_at}`);
  });

  it("/api/generate continuing its context past num_ctx: cut as Ollama's runner cuts its input, answered; truncate: false refuses it in Ollama's words", async () => {
    const options = { num_ctx: 256, num_predict: 2, temperature: 0 };
    const generate = (fields: Record<string, unknown>) =>
      fetch(`${gateway.url}/api/generate`, { method: "POST", body: JSON.stringify({ model: "tiny", stream: false, options, ...fields }) });
    const first = (await (await generate({ prompt: "Hello there" })).json()) as { context: number[] };
    assert.ok(first.context.length > 0, "a context to continue");
    const long = "Tell me about the weather on the first day of the month. ".repeat(30);
    const continued = await generate({ prompt: long, context: first.context });
    const reply = (await continued.json()) as ChatReply & { context: number[] };
    assert.equal(continued.status, 200, JSON.stringify(reply));
    assert.equal(reply.done, true);
    assert.ok(reply.prompt_eval_count > 0 && reply.prompt_eval_count < 256, `prompt_eval_count ${reply.prompt_eval_count}`);
    assert.ok(reply.context.length > first.context.length, "the conversation's ids go on");

    const refused = await generate({ prompt: long, context: first.context, truncate: false });
    assert.equal(refused.status, 400);
    assert.match(((await refused.json()) as { error: string }).error, /^the prompt is longer than the context length/);
  });
});
