/**
 * A client that leaves a stream mid-way on one kept-alive connection, on
 * every streaming dialect now written straight to Node's response: the
 * runner is released and the next request on the same connection (or a
 * fresh one, should the gateway close it) is served in full.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Agent, request } from "undici";
import { useGateway } from "../support/gateway.ts";

const messages = [{ role: "user", content: "hi" }];
const endless: Record<string, unknown> = {
  "/api/chat": { model: "tiny", messages, options: { num_predict: 100_000 } },
  "/api/generate": { model: "tiny", prompt: "hi", options: { num_predict: 100_000 } },
  "/v1/chat/completions": { model: "tiny", stream: true, messages, max_tokens: 100_000 },
  "/v1/messages": { model: "tiny", stream: true, max_tokens: 100_000, messages },
  "/v1/responses": { model: "tiny", stream: true, input: "hi", max_output_tokens: 100_000 },
  "/engines/v1/chat/completions": { model: "tiny", stream: true, messages, max_tokens: 100_000 },
};

interface RunnerView {
  readonly in_use: boolean;
  readonly requests_in_flight?: number;
}

describe("a stream aborted on a kept-alive connection (real engine)", () => {
  const served = useGateway();

  it("each dialect: the runner is released and the next request on the same agent is served in full", async () => {
    const agent = new Agent({ connections: 1, pipelining: 1 });
    try {
      for (const [path, body] of Object.entries(endless)) {
        const controller = new AbortController();
        const reply = await request(`${served.gateway.url}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
          dispatcher: agent,
          signal: controller.signal,
        });
        assert.equal(reply.statusCode, 200, path);
        let chunks = 0;
        await assert.rejects(async () => {
          for await (const _ of reply.body) if (++chunks === 3) controller.abort();
        }, `${path}: the stream runs until the client leaves`);

        const next = await request(`${served.gateway.url}/api/chat`, {
          method: "POST",
          body: JSON.stringify({ model: "tiny", stream: false, messages, options: { num_predict: 3 } }),
          dispatcher: agent,
        });
        const answer = (await next.body.json()) as { done?: boolean; eval_count?: number };
        assert.equal(next.statusCode, 200, `${path}: the next request is served`);
        assert.equal(answer.done, true, path);
        const runners = (await (await fetch(`${served.gateway.url}/engines/ps`)).json()) as RunnerView[];
        assert.ok(runners.every((r) => !r.in_use && (r.requests_in_flight ?? 0) === 0), `${path}: no lease left: ${JSON.stringify(runners)}`);
      }
    } finally {
      await agent.close();
    }
  });
});
