/**
 * A large whole (non-streamed) reply through the runner proxy on undici's
 * dispatch, the model's name rewritten on its way (asked as `tiny`, served
 * as `tiny:latest`): hundreds of kilobytes in many chunks arrive whole, valid
 * JSON, the name echoed as asked and nothing else touched.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startRealEngineGateway, type RealEngineGateway } from "./real-engine-gateway.ts";

describe("a large whole reply through the engines (real llama-server)", () => {
  let gateway: RealEngineGateway;
  before(async () => {
    gateway = await startRealEngineGateway();
  });
  after(() => gateway?.close());

  it("200 tokens with 20 alternatives each: one valid JSON body, the model named as asked, every token's logprobs there", async () => {
    const response = await fetch(`${gateway.url}/engines/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "tiny",
        messages: [{ role: "user", content: "Count." }],
        max_tokens: 200,
        logprobs: true,
        top_logprobs: 20,
        runner_options: { "context-size": 1024 },
      }),
    });
    const text = await response.text();
    assert.equal(response.status, 200, text.slice(0, 300));
    assert.ok(text.length > 100_000, `a large body (${text.length} bytes)`);
    const reply = JSON.parse(text) as { model: string; usage: { completion_tokens: number }; choices: { logprobs: { content: { top_logprobs: unknown[] }[] } }[] };
    assert.equal(reply.model, "tiny");
    assert.doesNotMatch(text, /tiny:latest/);
    const tokens = reply.choices[0]!.logprobs.content;
    assert.equal(tokens.length, reply.usage.completion_tokens);
    assert.ok(tokens.every((token) => token.top_logprobs.length === 20));
  });
});
