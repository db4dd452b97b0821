import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { useGateway } from "../support/gateway.ts";

describe("back-to-back requests to one runner", () => {
  const served = useGateway();

  // llama-server closes some connections after a reply; a proxy reusing them
  // raced the close and failed about one request in ten with "other side closed".
  it("all succeed, streamed and not, one right after another", async () => {
    const failures: string[] = [];
    for (let i = 0; i < 60; i++) {
      const response = await fetch(`${served.gateway.url}/engines/v1/chat/completions`, {
        method: "POST",
        body: JSON.stringify({ model: "tiny", stream: i % 2 === 0, max_tokens: 4, messages: [{ role: "user", content: "hi" }] }),
      });
      const text = await response.text();
      if (response.status !== 200 || text.includes('"error"')) failures.push(`${i}: ${response.status} ${text.slice(0, 160)}`);
    }
    assert.deepEqual(failures, []);
  });
});
