/**
 * The engine killed mid-stream on every dialect now written straight to
 * Node's response: each stream ends with an error in its dialect's shape
 * (never a hang, never a finished-looking reply), and the next request
 * loads a new runner. /api/chat's own case is in faults.e2e.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { useGateway, type GatewayProcess } from "../support/gateway.ts";
import { descendants } from "../support/processes.ts";

const messages = [{ role: "user", content: "Say something." }];

async function engines(gateway: GatewayProcess): Promise<number[]> {
  return (await descendants(gateway.child.pid!)).filter((p) => p.name === "llama-server").map((p) => p.pid);
}

/** Per path: the request, what its last words must be, and what must never appear. */
const cases = [
  {
    path: "/api/generate",
    body: { model: "tiny", prompt: "hi", options: { num_predict: 100_000 } },
    failed: (text: string) => /"error":"llama-server[^"]*SIGKILL/.test(text.trim().split("\n").at(-1)!),
    finished: /"done":true/,
  },
  {
    path: "/v1/chat/completions",
    body: { model: "tiny", stream: true, messages, max_tokens: 100_000 },
    failed: (text: string) => /^data: \{"error":\{"message":"llama-server[^"]*SIGKILL/.test(text.trim().split("\n\n").at(-1)!),
    finished: /data: \[DONE\]|"finish_reason":"(stop|length)"/,
  },
  {
    path: "/v1/messages",
    body: { model: "tiny", stream: true, max_tokens: 100_000, messages },
    failed: (text: string) => /^event: error\ndata: \{"type":"error","error":\{"type":"api_error","message":"llama-server[^"]*SIGKILL/.test(text.trim().split("\n\n").at(-1)!),
    finished: /event: message_stop/,
  },
  {
    path: "/v1/responses",
    body: { model: "tiny", stream: true, input: "hi", max_output_tokens: 100_000 },
    failed: (text: string) => /^event: response\.failed\ndata: .*"status":"failed".*llama-server[^"]*SIGKILL/s.test(text.trim().split("\n\n").at(-1)!),
    finished: /event: response\.(completed|incomplete)/,
  },
  {
    path: "/engines/v1/chat/completions",
    body: { model: "tiny", stream: true, messages, max_tokens: 100_000 },
    failed: (text: string) => /^data: \{"error":\{"message":"llama-server[^"]*SIGKILL.*"code":"engine_failure"/s.test(text.trim().split("\n\n").at(-1)!),
    finished: /data: \[DONE\]|"finish_reason":"(stop|length)"/,
  },
];

describe("the engine killed mid-stream, per dialect (real engine)", () => {
  const served = useGateway();

  for (const { path, body, failed, finished } of cases) {
    it(`${path}: the stream ends with the engine's error in the dialect's shape, and the next request is served`, async () => {
      const response = await fetch(`${served.gateway.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      assert.equal(response.status, 200);
      const decoder = new TextDecoder();
      let text = "";
      let chunks = 0;
      for await (const chunk of response.body!) {
        text += decoder.decode(chunk, { stream: true });
        if (++chunks === 3) {
          const [pid] = await engines(served.gateway);
          process.kill(pid!, "SIGKILL");
        }
      }
      assert.ok(chunks >= 3, `${path}: the stream started before the kill`);
      assert.ok(failed(text), `${path}: last words ${JSON.stringify(text.slice(-400))}`);
      assert.doesNotMatch(text, finished, `${path}: nothing says the reply finished`);

      const next = await fetch(`${served.gateway.url}/api/chat`, { method: "POST", body: JSON.stringify({ model: "tiny", stream: false, messages, options: { num_predict: 2 } }) });
      assert.equal(((await next.json()) as { done: boolean }).done, true);
    });
  }
});
