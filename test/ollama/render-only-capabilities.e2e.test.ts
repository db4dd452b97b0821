/**
 * `_debug_render_only` is refused as the request itself would be: Ollama's
 * ChatHandler and GenerateHandler check the model's capabilities
 * (scheduleRunner) before they look at DebugRenderOnly, so an embedding
 * model's chat or generate render is `"…" does not support chat` / `generate`
 * (TestGenerateChat/missing capabilities chat, TestGenerate/missing
 * capabilities generate, with `_debug_render_only` set).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { useGateway } from "../support/gateway.ts";

describe("a render-only request to a model without the capability (real gateway)", () => {
  const served = useGateway();

  it("TestGenerateChat/missing capabilities chat and TestGenerate/missing capabilities generate, rendered only: a 400 in Ollama's words", async () => {
    const embedder = (await served.ollama.list()).models.map((model) => model.name).find((name) => name.startsWith("tiny-embed"));
    assert.ok(embedder, "the embedding demo model");
    for (const [path, body, word] of [
      ["/api/chat", { messages: [{ role: "user", content: "Hello" }] }, "chat"],
      ["/api/generate", { prompt: "Hello" }, "generate"],
    ] as const) {
      const response = await fetch(`${served.gateway.url}${path}`, {
        method: "POST",
        body: JSON.stringify({ model: embedder, stream: false, _debug_render_only: true, ...body }),
      });
      assert.equal(response.status, 400, path);
      assert.deepEqual(await response.json(), { error: `"${embedder}" does not support ${word}` });
    }
  });
});
