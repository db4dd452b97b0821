/**
 * The Modelfile text `/api/show` writes reads back into the same create
 * request (Ollama's parser/parser.go quoting), and a model's layers apply to
 * a translated request as Ollama's handlers apply them (server/routes.go).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatModelfile, ModelfileSyntaxError, parseModelfile, type ModelfileContent } from "../../src/models/modelfile.ts";
import { translateChatRequest } from "../../src/ollama/chat-request.ts";
import { translateGenerateRequest } from "../../src/ollama/generate-request.ts";
import type { ModelLayers } from "../../src/models/models.ts";
import { applyModelLayers } from "../../src/ollama/modelfile-layers.ts";

describe("Modelfile text", () => {
  const content: ModelfileContent = {
    from: "/models/blobs/sha256/abc",
    template: '{{ if .System }}"{{ .System }}"\n{{ end }}{{ .Prompt }}',
    system: "You are terse.\nVery.",
    parameters: { num_ctx: 4096, stop: ["<|im_end|>", " end "], temperature: 0.5, penalize: true },
    messages: [
      { role: "user", content: "Hi" },
      { role: "assistant", content: "multi\nline" },
    ],
    licenses: ["MIT", "Apache\n2.0"],
  };

  it("round-trips through parse: what show prints creates the same model", () => {
    assert.deepEqual(parseModelfile(formatModelfile(content)), content);
  });

  it("writes Ollama's order and quoting", () => {
    const text = formatModelfile({ from: "x", system: "one line", parameters: { stop: ["a", "b"] }, messages: [{ role: "user", content: "Hi" }] });
    assert.equal(text, "FROM x\nSYSTEM one line\nPARAMETER stop a\nPARAMETER stop b\nMESSAGE user Hi\n");
  });

  it("reads comments and lower-case instructions; refuses what it does not know", () => {
    assert.deepEqual(parseModelfile("# a comment\nfrom tiny\nparameter temperature 0.2\n"), { from: "tiny", parameters: { temperature: 0.2 } });
    assert.throws(() => parseModelfile("FROM x\nADAPTER ./lora.gguf\n"), ModelfileSyntaxError);
    assert.throws(() => parseModelfile("SYSTEM hi\n"), /no FROM/);
    assert.throws(() => parseModelfile('FROM x\nSYSTEM """open\n'), /unterminated/);
  });
});

describe("a model's layers on a request", () => {
  const layers: ModelLayers = {
    id: "sha256:x",
    system: "Model system.",
    parameters: { num_predict: 3, temperature: 0.1, stop: ["END"], num_ctx: 1024 },
    messages: [{ role: "user", content: "Seed" }],
    chat_template: true,
  };
  const chat = (body: Record<string, unknown>) => translateChatRequest({ model: "m", ...body } as Parameters<typeof translateChatRequest>[0]);
  const roles = (call: ReturnType<typeof applyModelLayers>) => (call.engine?.body.messages as { role: string; content: string }[]).map((m) => `${m.role}:${m.content}`);

  it("chat: the model's system first unless the conversation has one, seed messages before the conversation (ChatHandler)", () => {
    assert.deepEqual(roles(applyModelLayers(chat({ messages: [{ role: "user", content: "Hi" }] }), layers)), ["system:Model system.", "user:Seed", "user:Hi"]);
    assert.deepEqual(roles(applyModelLayers(chat({ messages: [{ role: "system", content: "Own." }, { role: "user", content: "Hi" }] }), layers)), ["user:Seed", "system:Own.", "user:Hi"]);
  });

  it("generate: the request's system, else the model's, then the seed messages, then the prompt (GenerateHandler)", () => {
    const generate = (body: Record<string, unknown>) => translateGenerateRequest({ model: "m", ...body } as Parameters<typeof translateGenerateRequest>[0]);
    assert.deepEqual(roles(applyModelLayers(generate({ prompt: "Hi" }), layers)), ["system:Model system.", "user:Seed", "user:Hi"]);
    assert.deepEqual(roles(applyModelLayers(generate({ prompt: "Hi", system: "Own." }), layers)), ["system:Own.", "user:Seed", "user:Hi"]);
  });

  it("parameters are defaults under the request's options; num_ctx is the context size unless the request sets one", () => {
    const plain = applyModelLayers(chat({ messages: [{ role: "user", content: "Hi" }] }), layers);
    assert.deepEqual([plain.engine?.body.max_tokens, plain.engine?.body.temperature, plain.engine?.body.stop, plain.runnerOptions["context-size"]], [3, 0.1, ["END"], 1024]);
    const own = applyModelLayers(chat({ messages: [{ role: "user", content: "Hi" }], options: { num_predict: 9, stop: ["X"], num_ctx: 2048 } }), layers);
    assert.deepEqual([own.engine?.body.max_tokens, own.engine?.body.temperature, own.engine?.body.stop, own.runnerOptions["context-size"]], [9, 0.1, ["X"], 2048]);
  });

  it("a Go template layer is rendered into a raw completion; the engine's template stays for tools when the GGUF has one", () => {
    const go = { ...layers, template: "{{ range .Messages }}<{{ .Role }}>{{ .Content }}{{ end }}<assistant>", template_format: "go" };
    const rendered = applyModelLayers(chat({ messages: [{ role: "user", content: "Hi" }] }), go);
    assert.equal(rendered.engine?.path, "/v1/completions");
    assert.equal(rendered.engine?.body.prompt, "<system>Model system.<user>Seed\n\nHi<assistant>");
    assert.equal(rendered.engine?.body.messages, undefined);
    const tools = [{ type: "function", function: { name: "f" } }];
    assert.equal(applyModelLayers(chat({ messages: [{ role: "user", content: "Hi" }], tools }), go).engine?.path, "/v1/chat/completions");
    assert.equal(applyModelLayers(chat({ messages: [{ role: "user", content: "Hi" }], tools }), { ...go, chat_template: false }).engine?.path, "/v1/completions");
  });

  it("raw generate gets the options and nothing else", () => {
    const raw = applyModelLayers(translateGenerateRequest({ model: "m", prompt: "as is", raw: true } as Parameters<typeof translateGenerateRequest>[0]), layers);
    assert.deepEqual([raw.engine?.path, raw.engine?.body.prompt, raw.engine?.body.max_tokens], ["/v1/completions", "as is", 3]);
  });
});
