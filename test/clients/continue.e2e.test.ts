/**
 * Continue's Ollama provider, replayed from its source (continuedev/continue,
 * `core/llm/llms/Ollama.ts`, emulated in ./support/continue-ollama.ts) against
 * the real gateway and llama-server, with a code model pulled from a loopback
 * registry (Debian's docker-registry) in Ollama's layout: a FIM template and
 * `num_ctx`/`stop` parameters, the layers built by hand.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { fixtureToolCall } from "../../fixtures/generate.ts";
import { startGateway, type GatewayProcess } from "../support/gateway.ts";
import { startRegistry, type TestRegistry } from "../support/registry.ts";
import { ContinueOllama, continueDefaultContextLength, type ContinueChatMessage } from "./support/continue-ollama.ts";
import { fimParams, pushFimModel } from "./support/fim-model.ts";

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of stream) all.push(item);
  return all;
}

const weatherTool = {
  type: "function" as const,
  function: {
    name: fixtureToolCall.name,
    description: "The weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};

describe("Continue's Ollama provider, replayed (core/llm/llms/Ollama.ts)", () => {
  let registry: TestRegistry;
  let gateway: GatewayProcess;
  let apiBase: string;
  let coder: string;

  before(async () => {
    registry = await startRegistry();
    gateway = await startGateway();
    apiBase = `${gateway.url}/`;
    coder = `${registry.host}/library/coder:fim`;
    await pushFimModel(registry.url, "fim");
  });

  after(async () => {
    await gateway?.stop();
    await registry?.stop();
  });

  test("installModel: POST /api/pull {name} (Bearer undefined), progress lines parsed chunk by chunk, the last says success", async () => {
    const statuses: string[] = [];
    // A line split across two network chunks is lost to Continue (it only warns): counted, not failed on.
    await new ContinueOllama(apiBase, coder).installModel(coder, (status) => statuses.push(status));
    assert.equal(statuses[0], "pulling manifest");
    assert.equal(statuses.at(-1), "success");
  });

  test("listModels: GET /api/tags lists the pulled model by name", async () => {
    assert.ok((await new ContinueOllama(apiBase, coder).listModels()).includes(coder));
  });

  test("ensureModelInfo: POST /api/show {name} answers 200 (Continue keeps its defaults otherwise)", async () => {
    const response = await fetch(new URL("api/show", apiBase), { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ name: coder }) });
    assert.equal(response.status, 200);
    const body = (await response.json()) as { parameters?: unknown; template?: unknown };
    assert.equal(typeof body.parameters, "string");
    assert.equal(typeof body.template, "string");
  });

  test("ensureModelInfo: num_ctx and stop from the Modelfile's parameters, read line by line as Ollama prints them", async () => {
    const continueOllama = new ContinueOllama(apiBase, coder);
    await continueOllama.ensureModelInfo();
    assert.equal(continueOllama.contextLength, fimParams.num_ctx);
    assert.deepEqual(continueOllama.stop, fimParams.stop);
  });

  test("ensureModelInfo: the Ollama template's .Suffix makes supportsFim() true", async () => {
    const continueOllama = new ContinueOllama(apiBase, coder);
    await continueOllama.ensureModelInfo();
    assert.equal(continueOllama.fimSupported, true);
  });

  test("_streamChat, streamed: num_ctx and keep_alive 1800 sent, assistant chunks, the runner loaded with that context", async () => {
    const continueOllama = new ContinueOllama(apiBase, coder);
    const messages = await collect(continueOllama.streamChat([{ role: "user", content: "Explain this code" }], { maxTokens: 6 }));
    assert.ok(messages.length > 0 && messages.every((message) => message.role === "assistant"));
    assert.ok(messages.map((message) => message.content).join("").length > 0);
    const sent = continueOllama.requests.find((request) => request.path === "api/chat")!.body;
    const numCtx = continueOllama.contextLength ?? continueDefaultContextLength;
    // As sent: JSON.stringify drops the options Continue leaves undefined.
    const stop = continueOllama.stop ? { stop: continueOllama.stop } : {};
    assert.deepEqual(JSON.parse(JSON.stringify(sent.options)), { num_predict: 6, ...stop, num_ctx: numCtx });
    assert.equal(sent.keep_alive, 1800);

    const { models } = (await (await fetch(`${gateway.url}/api/ps`)).json()) as { models: { name: string; context_length?: number }[] };
    const running = models.find((model) => model.name === coder);
    assert.ok(running, JSON.stringify(models));
    // Ollama caps num_ctx at the context the model was trained for (llm/server.go, NewLlamaServer): 4096 here.
    assert.equal(running.context_length, Math.min(numCtx, 4096));
  });

  test("_streamChat, stream false: one object read with response.json()", async () => {
    const messages = await collect(new ContinueOllama(apiBase, coder).streamChat([{ role: "user", content: "Hi" }], { maxTokens: 3, stream: false }));
    assert.equal(messages.length, 1);
    assert.equal(messages[0]!.role, "assistant");
    assert.ok(messages[0]!.content.length > 0);
  });

  test("_streamChat with tools: the whole call in one chunk, arguments an object Continue stringifies; the tool's result goes back", async () => {
    const continueOllama = new ContinueOllama(apiBase, "tiny-tools");
    const question: ContinueChatMessage = { role: "user", content: "What is the weather in Paris?" };
    const messages = await collect(continueOllama.streamChat([question], { tools: [weatherTool] }));
    assert.ok(continueOllama.requests[1]!.body.tools, "tools are sent when the last message is the user's");
    const calls = messages.flatMap((message) => message.toolCalls ?? []);
    assert.equal(calls.length, 1, JSON.stringify(messages));
    assert.equal(calls[0]!.function.name, fixtureToolCall.name);
    assert.deepEqual(JSON.parse(calls[0]!.function.arguments), fixtureToolCall.arguments);

    const followUp = await collect(
      continueOllama.streamChat(
        [question, { role: "assistant", content: "", toolCalls: calls }, { role: "tool", content: '{"sky":"clear"}', toolCallId: calls[0]!.id }],
        { tools: [weatherTool], maxTokens: 3 },
      ),
    );
    assert.equal(continueOllama.requests[2]!.body.tools, undefined, "no tools after a tool message (Continue's rule)");
    assert.ok(followUp.length > 0);
  });

  test("autocomplete without FIM (CompletionStreamer.ts): _streamComplete with raw: true streams the completion", async () => {
    const continueOllama = new ContinueOllama(apiBase, coder);
    const parts = await collect(continueOllama.streamComplete("def fibonacci(n):\n    ", { raw: true, maxTokens: 5 }));
    assert.ok(parts.join("").length > 0);
    const sent = continueOllama.requests.find((request) => request.path === "api/generate")!.body;
    assert.equal(sent.raw, true);
    assert.equal(sent.keep_alive, 1800);
  });

  test("_streamFim: {prompt, suffix} streams response lines and ends without an error line (Ollama: the template's .Suffix makes the model insert-capable)", async () => {
    const parts = await collect(new ContinueOllama(apiBase, coder).streamFim("def add(a, b):\n    return ", "\n\nprint(add(1, 2))", { maxTokens: 5 }));
    assert.ok(parts.length > 0);
  });

  test("_streamFim: the suffix reaches the model (a longer suffix, more prompt tokens), as Ollama renders it into the template's <SUF>", async () => {
    const promptTokens = async (suffix: string) => {
      const response = await fetch(`${gateway.url}/api/generate`, {
        method: "POST",
        body: JSON.stringify({ model: coder, prompt: "def add(a, b):\n    return ", suffix, stream: false, options: { num_predict: 1 } }),
      });
      const body = (await response.json()) as { prompt_eval_count?: number; error?: string };
      assert.equal(response.status, 200, JSON.stringify(body));
      return body.prompt_eval_count ?? 0;
    };
    const short = await promptTokens("\n");
    const long = await promptTokens("\n\nprint(add(1, 2))\nprint(add(3, 4))\nprint(add(5, 6))\n");
    assert.ok(long > short + 10, `prompt tokens: ${short} with a short suffix, ${long} with a long one`);
  });

  test("_embed: POST /api/embed {model, input} gives one embedding per chunk", async () => {
    const embeddings = await new ContinueOllama(apiBase, "tiny-embed").embed(["const a = 1;", "function f() {}"]);
    assert.equal(embeddings.length, 2);
    assert.ok(embeddings.every((embedding) => embedding.length > 0 && embedding.every(Number.isFinite)));
  });
});
