/**
 * A model's resolution is kept for a turn of the event loop and while the
 * store's index is the same: a model replaced (`create` over its name),
 * copied or removed must be seen by the very next request, on the Ollama
 * routes and the engines alike, with nothing between them but the client's
 * own round trips (ollama-js, fetch).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Ollama } from "ollama";
import { startGateway, type GatewayProcess } from "../support/gateway.ts";

describe("a model replaced, copied or removed, seen by the next request", () => {
  let gateway: GatewayProcess;
  let ollama: Ollama;

  before(async () => {
    gateway = await startGateway();
    ollama = new Ollama({ host: gateway.url });
    await ollama.list(); // the demo models are registered in the background: listed once they are
  });
  after(() => gateway?.stop());

  const post = (path: string, body: unknown) => fetch(`${gateway.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const rendered = async (model: string) => {
    const response = await post("/api/chat", { model, messages: [{ role: "user", content: "Hello" }], stream: false, _debug_render_only: true });
    return { status: response.status, text: await response.text() };
  };
  const enginesChat = async (model: string) => {
    const response = await post("/engines/v1/chat/completions", { model, messages: [{ role: "user", content: "Hello" }], max_tokens: 1 });
    return { status: response.status, text: await response.text() };
  };

  it("create over the same name: the next chat has the new system prompt, the next show the new capabilities; both dialects refuse chat once it embeds", async () => {
    const names = (await ollama.list()).models.map((model) => model.name);
    const embedder = names.find((name) => name.startsWith("tiny-embed"));
    assert.ok(embedder, `an embedding demo model among ${names.join(", ")}`);

    await ollama.create({ model: "swap", from: "tiny", system: "first words" });
    assert.match((await rendered("swap")).text, /first words/);
    assert.equal((await enginesChat("swap")).status, 200, "a chat model, loaded");
    await ollama.create({ model: "swap", from: "tiny", system: "second words" });
    const second = await rendered("swap");
    assert.match(second.text, /second words/);
    assert.doesNotMatch(second.text, /first words/);

    await ollama.create({ model: "swap", from: embedder });
    assert.ok((await ollama.show({ model: "swap" })).capabilities.includes("embedding"));
    const chat = await post("/api/chat", { model: "swap", messages: [{ role: "user", content: "Hello" }], stream: false, options: { num_predict: 1 } });
    const ollamaChat = { status: chat.status, text: await chat.text() };
    assert.equal(ollamaChat.status, 400, ollamaChat.text);
    assert.match(ollamaChat.text, /does not support chat/);
    const engines = await enginesChat("swap");
    assert.equal(engines.status, 400, engines.text);
    assert.match(engines.text, /does not support chat/);

    await ollama.create({ model: "swap", from: "tiny" });
    assert.equal((await enginesChat("swap")).status, 200, "a chat model again");
  });

  it("copied: the copy answers at once; removed: the next request is a 404 on each route, the copy unharmed", async () => {
    await ollama.create({ model: "gone", from: "tiny", system: "copied words" });
    assert.equal((await enginesChat("gone")).status, 200);
    await ollama.copy({ source: "gone", destination: "kept" });
    assert.match((await rendered("kept")).text, /copied words/);
    assert.equal((await enginesChat("kept")).status, 200);
    await ollama.delete({ model: "gone" });
    const ollamaChat = await rendered("gone");
    assert.equal(ollamaChat.status, 404, ollamaChat.text);
    const engines = await enginesChat("gone");
    assert.equal(engines.status, 404, engines.text);
    const v1 = await post("/v1/chat/completions", { model: "gone", messages: [{ role: "user", content: "Hello" }], max_tokens: 1 });
    assert.equal(v1.status, 404, await v1.text());
    assert.equal((await enginesChat("kept")).status, 200);
  });
});
