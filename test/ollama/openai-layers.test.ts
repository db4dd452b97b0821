/**
 * Unit test of the body `/v1` hands the engine: Ollama's defaults
 * (middleware/openai_test.go's `TestChatMiddleware`, `TestCompletionsMiddleware`:
 * the options Ollama's handler receives) and the model's layers under the
 * request's own fields (server/routes.go `ChatHandler`, `GenerateHandler`).
 * The end-to-end test is in test/models/modelfile.e2e.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chatFromCompletion } from "../../src/ollama/completion-as-chat.ts";
import { createOpenAILayers, templatedChat, withOllamaLayers } from "../../src/ollama/openai-layers.ts";
import type { ModelLayers } from "../../src/models/models.ts";

const hello = [{ role: "user", content: "Hello" }];
const terse: ModelLayers = {
  id: "sha256:terse",
  system: "You answer in one word.",
  parameters: { num_predict: 3, temperature: 0, top_p: 0.5, stop: ["END"], seed: 7, top_k: 5, num_ctx: 512 },
  messages: [
    { role: "user", content: "Seed question?" },
    { role: "assistant", content: "Seed answer." },
  ],
};

describe("Ollama's /v1 bodies", () => {
  it("TestChatMiddleware/chat handler: temperature and top_p are 1 when absent", () => {
    assert.deepEqual(withOllamaLayers("/v1/chat/completions", { model: "test-model", messages: hello }, undefined), {
      model: "test-model",
      messages: hello,
      temperature: 1,
      top_p: 1,
    });
  });

  it("TestChatMiddleware/chat handler with options: the request's values stand, over the model's too", () => {
    const body = {
      model: "test-model",
      messages: hello,
      stream: true,
      max_tokens: 999,
      seed: 123,
      stop: ["\n", "stop"],
      temperature: 3.0,
      frequency_penalty: 4.0,
      presence_penalty: 5.0,
      top_p: 6.0,
      response_format: { type: "json_object" },
    };
    for (const layers of [undefined, { ...terse, system: undefined, messages: undefined }]) {
      const sent = withOllamaLayers("/v1/chat/completions", body, layers);
      for (const [field, value] of Object.entries(body)) assert.deepEqual(sent[field], value, field);
    }
  });

  it("TestCompletionsMiddleware/completions handler: penalties 0 and top_p 1 when absent, the request's temperature and stop stand", () => {
    const sent = withOllamaLayers("/v1/completions", { model: "test-model", prompt: "Hello", temperature: 0.8, stop: ["\n", "stop"], suffix: "suffix" }, undefined);
    assert.deepEqual(sent, {
      model: "test-model",
      prompt: "Hello",
      suffix: "suffix",
      temperature: 0.8,
      stop: ["\n", "stop"],
      top_p: 1,
      frequency_penalty: 0,
      presence_penalty: 0,
    });
    assert.equal(withOllamaLayers("/v1/completions", { model: "m", prompt: "x", top_p: 0 }, undefined).top_p, 1, "a zero top_p is Go's absent");
  });

  it("chat: the model's parameters fill what the request leaves out; its temperature and top_p do not (Ollama's 1 wins)", () => {
    const sent = withOllamaLayers("/v1/chat/completions", { model: "terse", messages: hello }, terse);
    assert.equal(sent.max_tokens, 3, "num_predict");
    assert.deepEqual(sent.stop, ["END"]);
    assert.equal(sent.seed, 7);
    assert.equal(sent.top_k, 5);
    assert.equal(sent.temperature, 1);
    assert.equal(sent.top_p, 1);
    assert.deepEqual(sent.runner_options, { "context-size": 512 }, "num_ctx sizes the runner");
    const newer = withOllamaLayers("/v1/chat/completions", { model: "terse", messages: hello, max_completion_tokens: 9 }, terse);
    assert.equal(newer.max_tokens, undefined, "max_completion_tokens is the request's bound");
    const own = withOllamaLayers("/v1/chat/completions", { model: "terse", messages: hello, runner_options: { "context-size": 1024 } }, terse);
    assert.deepEqual(own.runner_options, { "context-size": 1024 });
  });

  it("chat: the model's system prompt unless the conversation opens with one, then its messages (ChatHandler)", () => {
    const seeded = terse.messages!;
    assert.deepEqual(withOllamaLayers("/v1/chat/completions", { model: "terse", messages: hello }, terse).messages, [
      { role: "system", content: "You answer in one word." },
      ...seeded,
      ...hello,
    ]);
    const own = [{ role: "system", content: "Own." }, ...hello];
    assert.deepEqual(withOllamaLayers("/v1/chat/completions", { model: "terse", messages: own }, terse).messages, [...seeded, ...own]);
  });

  it("completions: the prompt goes through the model's Go template with its system and messages (GenerateHandler); without one it stays raw", () => {
    const layers: ModelLayers = {
      ...terse,
      template: "{{ if .System }}[SYS]{{ .System }}{{ end }}{{ range .Messages }}[{{ .Role }}]{{ .Content }}{{ end }}[assistant]",
      template_format: "go",
    };
    const sent = withOllamaLayers("/v1/completions", { model: "t", prompt: "Hi" }, layers);
    assert.equal(sent.prompt, "[SYS]You answer in one word.[system]You answer in one word.[user]Seed question?[assistant]Seed answer.[user]Hi[assistant]");
    assert.equal(sent.max_tokens, 3);
    assert.equal(withOllamaLayers("/v1/completions", { model: "t", prompt: "Hi" }, terse).prompt, "Hi");

    const fim: ModelLayers = { ...layers, template: "<PRE>{{ .Prompt }}<SUF>{{ .Suffix }}<MID>" };
    const filled = withOllamaLayers("/v1/completions", { model: "t", prompt: "def f(", suffix: "return 1" }, fim);
    assert.equal(filled.prompt, "<PRE>def f(<SUF>return 1<MID>");
    assert.equal("suffix" in filled, false);
    const noSuffix = withOllamaLayers("/v1/completions", { model: "t", prompt: "def f(", suffix: "return 1" }, layers);
    assert.equal(noSuffix.suffix, "return 1", "a template without .Suffix leaves the refusal to the engines layer");
  });

  it("chat: a Go template renders the conversation into a completion where the engine need not parse the reply", () => {
    const layers: ModelLayers = { ...terse, template: "{{ range .Messages }}[{{ .Role }}]{{ .Content }}{{ end }}[assistant]", template_format: "go" };
    const layered = withOllamaLayers("/v1/chat/completions", { model: "t", messages: hello, max_completion_tokens: 5, stream: true }, layers);
    assert.deepEqual(templatedChat(layered, layers), {
      model: "t",
      max_tokens: 5,
      stream: true,
      stop: ["END"],
      seed: 7,
      top_k: 5,
      temperature: 1,
      top_p: 1,
      runner_options: { "context-size": 512 },
      prompt: "[system]You answer in one word.[user]Seed question?[assistant]Seed answer.[user]Hello[assistant]",
    });
    const tools = [{ type: "function", function: { name: "f", parameters: {} } }];
    assert.equal(templatedChat({ ...layered, tools }, layers), undefined, "tools: the engine parses the calls");
    assert.equal(templatedChat({ ...layered, response_format: { type: "json_object" } }, layers), undefined);
    assert.equal(templatedChat({ ...layered, logprobs: true }, layers), undefined);
    const image = { role: "user", content: [{ type: "image_url", image_url: { url: "data:image/png;base64,AA" } }] };
    assert.equal(templatedChat({ ...layered, messages: [image] }, layers), undefined);
    assert.equal(templatedChat(layered, terse), undefined, "no Go template: the engine's own");
  });

  it("a completion's reply told as a chat's: streamed chunks and a whole reply", async () => {
    const events = [
      { id: "c", object: "text_completion", choices: [{ index: 0, text: "Hi", finish_reason: null }] },
      { id: "c", object: "text_completion", choices: [{ index: 0, text: "!", finish_reason: "stop" }] },
      { id: "c", object: "text_completion", choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } },
    ];
    const sse = `${events.map((event) => `data: ${JSON.stringify(event)}\n\n`).join("")}data: [DONE]\n\n`;
    const streamed = chatFromCompletion(new Response(sse, { headers: { "content-type": "text/event-stream" } }));
    const chunks = (await streamed.text()).split("\n\n").filter(Boolean).map((event) => event.replace(/^data: /, ""));
    assert.equal(chunks.at(-1), "[DONE]");
    assert.deepEqual(chunks.slice(0, -1).map((chunk) => JSON.parse(chunk)), [
      { id: "c", object: "chat.completion.chunk", choices: [{ index: 0, delta: { role: "assistant", content: "Hi" }, finish_reason: null }] },
      { id: "c", object: "chat.completion.chunk", choices: [{ index: 0, delta: { content: "!" }, finish_reason: "stop" }] },
      { id: "c", object: "chat.completion.chunk", choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } },
    ]);

    const whole = { id: "c", object: "text_completion", choices: [{ index: 0, text: "Hi!", finish_reason: "stop" }], usage: { prompt_tokens: 3 } };
    const reply = chatFromCompletion(Response.json(whole));
    assert.deepEqual(await reply.json(), { ...whole, object: "chat.completion", choices: [{ index: 0, message: { role: "assistant", content: "Hi!" }, finish_reason: "stop" }] });

    const refused = Response.json({ error: { message: "no" } }, { status: 400 });
    assert.equal(chatFromCompletion(refused), refused, "a refusal passes as it is");
  });

  it("a body that writing again would change goes as it came, for the engines layer to refuse in its words", async () => {
    const layered = createOpenAILayers({ layers: async () => ({ id: "sha256:x" }) });
    for (const text of ['{"model":"tiny","prompt":"hi","stream":-1e400}', '{"model":"\\ud800"}', "[1]", "{"]) {
      const bytes = new TextEncoder().encode(text).buffer as ArrayBuffer;
      const sent = await layered("/v1/completions", bytes);
      assert.ok("body" in sent && sent.body === bytes, text);
    }
    const sent = await layered("/v1/completions", new TextEncoder().encode('{"model":"tiny","prompt":"hi"}').buffer as ArrayBuffer);
    assert.ok("body" in sent);
    assert.equal(JSON.parse(new TextDecoder().decode(sent.body)).temperature, 1);
  });
});
