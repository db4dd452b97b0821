/**
 * The request log's token counts against the real gateway and llama-server:
 * an event stream (`/engines`, and the Anthropic and Responses translations,
 * whose usage is the engine's) is counted from the metrics' reading of the
 * engine's bytes, not parsed a second time; an Ollama stream from the final
 * line its translation writes, not read back; each line says what the reply
 * itself stated.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Ollama } from "ollama";
import OpenAI from "openai";
import { eventually } from "../support/eventually.ts";
import { useGateway } from "../support/gateway.ts";

describe("request log token counts (real gateway)", () => {
  const fixture = useGateway();
  const logLine = (path: string, seen: number) =>
    eventually(async () => fixture.gateway.logs.slice(seen).find((entry) => entry.component === "http" && entry.path === path), `the log line for ${path}`);

  it("an /engines stream logs the usage its last event states, as the metrics count it", async () => {
    const openai = new OpenAI({ baseURL: `${fixture.gateway.url}/engines/v1`, apiKey: "unused", maxRetries: 0 });
    const metric = async () => {
      const text = await (await fetch(`${fixture.gateway.url}/metrics`)).text();
      const line = text.split("\n").find((l) => l.startsWith("modelgate_engine_completion_tokens_total{") && l.includes('model="tiny:latest"') && l.includes('origin="direct"'));
      return line === undefined ? 0 : Number(line.split(" ").at(-1));
    };
    const before = await metric();
    const seen = fixture.gateway.logs.length;
    const stream = await openai.chat.completions.create({
      model: "tiny",
      messages: [{ role: "user", content: "Say hello" }],
      max_tokens: 4,
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) usage = chunk.usage ?? usage;
    assert.ok(usage && usage.completion_tokens >= 1, JSON.stringify(usage));

    const logged = await logLine("/engines/v1/chat/completions", seen);
    assert.equal(logged.status, 200);
    assert.equal(logged.prompt_tokens, usage.prompt_tokens);
    assert.equal(logged.completion_tokens, usage.completion_tokens);
    assert.equal((await metric()) - before, usage.completion_tokens);
  });

  for (const kind of ["chat", "generate"] as const) {
    it(`an /api/${kind} stream logs the counts its final line states`, async () => {
      const ollama = new Ollama({ host: fixture.gateway.url });
      const seen = fixture.gateway.logs.length;
      const options = { num_predict: 4, temperature: 0 };
      const parts =
        kind === "chat"
          ? await ollama.chat({ model: "tiny", messages: [{ role: "user", content: "Say hello" }], stream: true, options })
          : await ollama.generate({ model: "tiny", prompt: "Say hello", stream: true, options });
      let final: { prompt_eval_count: number; eval_count: number; done: boolean } | undefined;
      for await (const part of parts) final = part;
      assert.ok(final?.done && final.eval_count >= 1 && final.prompt_eval_count >= 1, JSON.stringify(final));

      const logged = await logLine(`/api/${kind}`, seen);
      assert.equal(logged.status, 200);
      assert.equal(logged.prompt_tokens, final.prompt_eval_count);
      assert.equal(logged.completion_tokens, final.eval_count);
    });
  }

  it("a translated stream (/v1/messages) logs the usage its events state", async () => {
    const seen = fixture.gateway.logs.length;
    const response = await fetch(`${fixture.gateway.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "anthropic-version": "2023-06-01" },
      body: JSON.stringify({ model: "tiny", max_tokens: 4, stream: true, messages: [{ role: "user", content: "Say hello" }] }),
    });
    assert.equal(response.status, 200);
    const text = await response.text();
    const events = text
      .split("\n")
      .filter((line) => line.startsWith("data: "))
      .map((line) => JSON.parse(line.slice(6)) as { type: string; usage?: Usage; message?: { usage: Usage } });
    // Anthropic's counts: each event updates those it carries; cached input tokens are prompt tokens too.
    let input: number | undefined;
    for (const event of events) {
      const usage = event.usage ?? event.message?.usage;
      if (typeof usage?.input_tokens === "number") input = usage.input_tokens + (usage.cache_read_input_tokens ?? 0);
    }
    const output = events.findLast((event) => event.type === "message_delta")?.usage?.output_tokens;
    assert.ok(typeof output === "number" && output >= 1, text);

    const logged = await logLine("/v1/messages", seen);
    assert.equal(logged.status, 200);
    assert.equal(logged.completion_tokens, output);
    assert.ok(typeof input === "number" && input >= 1, text);
    assert.equal(logged.prompt_tokens, input);
  });

  it("a translated stream (/v1/responses) logs the usage its response.completed states", async () => {
    const seen = fixture.gateway.logs.length;
    const response = await fetch(`${fixture.gateway.url}/v1/responses`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "tiny", max_output_tokens: 4, stream: true, store: false, input: "Say hello" }),
    });
    assert.equal(response.status, 200);
    const text = await response.text();
    const completed = text
      .split("\n")
      .filter((line) => line.startsWith("data: "))
      .map((line) => JSON.parse(line.slice(6)) as { type: string; response?: { usage?: Usage } })
      .findLast((event) => event.response?.usage);
    const usage = completed?.response?.usage;
    assert.ok(usage && typeof usage.output_tokens === "number" && usage.output_tokens >= 1, text);

    const logged = await logLine("/v1/responses", seen);
    assert.equal(logged.status, 200);
    assert.equal(logged.prompt_tokens, usage.input_tokens);
    assert.equal(logged.completion_tokens, usage.output_tokens);
  });
});

interface Usage {
  readonly input_tokens?: number;
  readonly output_tokens?: number;
  readonly cache_read_input_tokens?: number;
}
