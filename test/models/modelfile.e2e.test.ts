/**
 * Modelfile semantics through the real gateway, llama-server and a real
 * registry (Debian's docker-registry), driven by ollama-js, LangChain and raw
 * HTTP: create with system, parameters, messages and license, then show and
 * chat reflect each; a model in Ollama's own layout, its layers built here by
 * hand and pushed to the registry, pulls with every layer applied; a new
 * manifest under the same tag pulls over the old one. Assertions ported from
 * Ollama's server/routes_create_test.go are named after their test.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { ChatOllama } from "@langchain/ollama";
import { Ollama } from "ollama";
import OpenAI from "openai";
import { ensureFixtureModels } from "../../fixtures/generate.ts";
import { sha256Digest } from "../../src/models/store/digest.ts";
import { startGateway, type GatewayProcess } from "../support/gateway.ts";
import { pushManifest, type Blob } from "../support/ollama-layout.ts";
import { startRegistry, type TestRegistry } from "../support/registry.ts";

interface Show {
  system?: string;
  parameters: string;
  messages?: { role: string; content: string }[];
  license: string;
  template: string;
  modelfile: string;
  model_info: Record<string, unknown>;
  tensors?: { name: string; type: string; shape: number[] }[];
  capabilities: string[];
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

describe("Modelfile layers through the gateway", () => {
  let registry: TestRegistry;
  let gateway: GatewayProcess;
  let ollama: Ollama;
  let weights: Buffer;

  before(async () => {
    weights = await readFile((await ensureFixtureModels()).chat);
    registry = await startRegistry();
    gateway = await startGateway();
    ollama = new Ollama({ host: gateway.url });
    await ollama.list(); // the demo models are registered in the background: listed once they are
  });

  after(async () => {
    await gateway?.stop();
    await registry?.stop();
  });

  const post = async (path: string, body: unknown) => fetch(`${gateway.url}${path}`, { method: "POST", body: JSON.stringify(body) });
  // ollama-js 0.6.4 has no `verbose`: the verbose view is asked for by hand.
  const show = async (model: string, verbose = false) =>
    (verbose ? await (await post("/api/show", { model, verbose })).json() : await ollama.show({ model })) as unknown as Show;
  const rendered = async (path: "/api/chat" | "/api/generate", body: Record<string, unknown>) => {
    const response = await post(path, { ...body, _debug_render_only: true, stream: false });
    assert.equal(response.status, 200);
    return ((await response.json()) as { debug_info: { rendered_template: string } }).debug_info.rendered_template;
  };
  const hello = [{ role: "user" as const, content: "Hello there" }];

  it("create with system, parameters, messages and license; show reflects each (TestCreateMergeParameters, TestCreateLicenses)", async () => {
    const created = await ollama.create({
      model: "terse",
      from: "tiny",
      system: "You answer in one word.",
      parameters: { num_predict: 3, temperature: 0, stop: ["<|im_end|>", "\n\n"] },
      messages: [
        { role: "user", content: "Seed question?" },
        { role: "assistant", content: "Seed answer." },
      ],
      license: ["License one", "License two"],
    });
    assert.deepEqual(created, { status: "success" });

    const terse = await show("terse");
    assert.equal(terse.system, "You answer in one word.");
    assert.deepEqual(terse.messages, [
      { role: "user", content: "Seed question?" },
      { role: "assistant", content: "Seed answer." },
    ]);
    assert.equal(terse.license, "License one\nLicense two");
    assert.equal(
      terse.parameters,
      [`${"num_predict".padEnd(30)} 3`, `${"stop".padEnd(30)} "<|im_end|>"`, `${"stop".padEnd(30)} "\\n\\n"`, `${"temperature".padEnd(30)} 0`].join("\n"),
    );
    for (const line of ["SYSTEM You answer in one word.", "PARAMETER num_predict 3", "MESSAGE user Seed question?", "MESSAGE assistant Seed answer.", "LICENSE License one"]) {
      assert.ok(terse.modelfile.includes(`${line}\n`), `${line} in ${terse.modelfile}`);
    }
    assert.equal(terse.model_info["general.architecture"], "llama");
    assert.equal(terse.model_info["general.basename"], "modelgate-tiny-chat", "the GGUF's name where it has no basename");
    assert.equal(terse.model_info["general.name"], undefined);
    assert.equal(typeof terse.model_info["llama.context_length"], "number");
    assert.deepEqual(terse.model_info["tokenizer.ggml.tokens"], [], "long arrays are elided unless verbose");
    assert.equal(terse.tensors, undefined);

    const verbose = await show("terse", true);
    assert.ok((verbose.model_info["tokenizer.ggml.tokens"] as unknown[]).length > 5);
    assert.ok(verbose.tensors?.some((tensor) => tensor.name === "token_embd.weight" && tensor.type === "F16" && tensor.shape.length === 2));

    // The base is untouched (a new manifest over its blobs).
    const base = await show("tiny");
    assert.equal(base.system, undefined);
    assert.equal(base.parameters, "");

    // Parameters merge over the base's key by key, lists replaced.
    await ollama.create({ model: "terse2", from: "terse", parameters: { temperature: 0.5, stop: ["END"] } });
    assert.equal(
      (await show("terse2")).parameters,
      [`${"num_predict".padEnd(30)} 3`, `${"stop".padEnd(30)} "END"`, `${"temperature".padEnd(30)} 0.5`].join("\n"),
    );
  });

  it("chat applies the layers: system and seed messages lengthen the prompt, num_predict bounds the reply, the request's options win", async () => {
    const options = { temperature: 0 };
    const base = await ollama.chat({ model: "tiny", messages: hello, options: { ...options, num_predict: 3 } });
    const terse = await ollama.chat({ model: "terse", messages: hello, options });
    assert.ok(terse.prompt_eval_count > base.prompt_eval_count, `${terse.prompt_eval_count} > ${base.prompt_eval_count}`);
    assert.ok(terse.eval_count <= 3, `num_predict 3 from the model bounds the reply: ${terse.eval_count}`);

    const prompt = await rendered("/api/chat", { model: "terse", messages: hello });
    const order = ["You answer in one word.", "Seed question?", "Seed answer.", "Hello there"].map((text) => prompt.indexOf(text));
    assert.ok(order.every((at, i) => at >= 0 && (i === 0 || at > order[i - 1]!)), prompt);
    const own = await rendered("/api/chat", { model: "terse", messages: [{ role: "system", content: "Own system." }, ...hello] });
    assert.ok(own.includes("Own system.") && !own.includes("You answer in one word."), own);

    const longer = await ollama.chat({ model: "terse", messages: hello, options: { ...options, num_predict: 8 } });
    assert.ok(longer.eval_count > 3 || longer.done_reason === "stop", `the request's num_predict 8 overrides the model's 3: ${JSON.stringify(longer)}`);

    const generated = await ollama.generate({ model: "terse", prompt: "Hello there", options });
    assert.ok(generated.eval_count <= 3);
    assert.ok(generated.prompt_eval_count > (await ollama.generate({ model: "tiny", prompt: "Hello there", options: { num_predict: 1 } })).prompt_eval_count);
  });

  it("/v1 applies the layers as Ollama's OpenAI-compatible API does (openai client); /engines/v1 stays the engine's raw face", async () => {
    const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const raw = new OpenAI({ baseURL: `${gateway.url}/engines/v1`, apiKey: "unused", maxRetries: 0 });
    const viaOllama = await ollama.chat({ model: "terse", messages: hello, options: { num_predict: 1 } });
    const terse = await openai.chat.completions.create({ model: "terse", messages: hello });
    assert.equal(terse.usage?.prompt_tokens, viaOllama.prompt_eval_count, "the system prompt and seed messages, as /api/chat adds them");
    assert.ok(terse.usage!.completion_tokens <= 3, `num_predict 3 from the model bounds the reply: ${JSON.stringify(terse.usage)}`);
    const tiny = await openai.chat.completions.create({ model: "tiny", messages: hello, max_tokens: 1 });
    assert.ok(terse.usage!.prompt_tokens > tiny.usage!.prompt_tokens, `${terse.usage!.prompt_tokens} > ${tiny.usage!.prompt_tokens}`);
    const untouched = await raw.chat.completions.create({ model: "terse", messages: hello, max_tokens: 1 });
    assert.equal(untouched.usage?.prompt_tokens, tiny.usage?.prompt_tokens, "/engines/v1 adds nothing");

    const own = [{ role: "system" as const, content: "Own system." }, ...hello];
    const ownOllama = await ollama.chat({ model: "terse", messages: own, options: { num_predict: 1 } });
    const ownV1 = await openai.chat.completions.create({ model: "terse", messages: own, max_tokens: 1 });
    assert.equal(ownV1.usage?.prompt_tokens, ownOllama.prompt_eval_count, "the request's own system prompt replaces the model's");

    const longer = await openai.chat.completions.create({ model: "terse", messages: hello, max_tokens: 8 });
    assert.ok(longer.usage!.completion_tokens > 3 || longer.choices[0]!.finish_reason === "stop", `max_tokens 8 overrides the model's 3: ${JSON.stringify(longer)}`);

    let streamed: OpenAI.CompletionUsage | undefined;
    for await (const chunk of await openai.chat.completions.create({ model: "terse", messages: hello, stream: true, stream_options: { include_usage: true } })) {
      streamed = chunk.usage ?? streamed;
    }
    assert.equal(streamed?.prompt_tokens, viaOllama.prompt_eval_count, "streamed the same");
    assert.ok(streamed!.completion_tokens <= 3);

    // num_ctx is the runner's size for the model's /v1 requests too (Ollama's scheduler reads the model's options).
    await ollama.create({ model: "roomy", from: "tiny", parameters: { num_ctx: 512 } });
    await openai.completions.create({ model: "roomy", prompt: "Hello", max_tokens: 1 });
    const { models } = (await (await fetch(`${gateway.url}/api/ps`)).json()) as { models: { name: string; context_length: number }[] };
    assert.deepEqual(models.filter((running) => running.name === "roomy:latest").map((running) => running.context_length), [512]);
  });

  it("LangChain's ChatOllama gets the model's defaults", async () => {
    const chat = new ChatOllama({ baseUrl: gateway.url, model: "terse", temperature: 0 });
    const reply = await chat.invoke("Hello there");
    assert.equal(typeof reply.content, "string");
    assert.ok((reply.usage_metadata?.output_tokens ?? 0) <= 3, JSON.stringify(reply.usage_metadata));
  });

  it("generate's template overrides the prompt template for that request, and renders only with _debug_render_only", async () => {
    const template = "<<{{ if .System }}{{ .System }}|{{ end }}{{ range .Messages }}{{ .Role }}={{ .Content }};{{ end }}>>";
    const prompt = await rendered("/api/generate", { model: "terse", prompt: "Hi", template });
    assert.equal(prompt, "<<You answer in one word.|system=You answer in one word.;user=Seed question?;assistant=Seed answer.;user=Hi;>>");
    const reply = await ollama.generate({ model: "terse", prompt: "Hi", template, options: { num_predict: 2 } });
    assert.ok(reply.done && reply.eval_count <= 2 && reply.prompt_eval_count > 0, JSON.stringify(reply));
  });

  it("refuses what it cannot honour: a bad template (TestCreateTemplateSystem), adapters, a path outside (errFilePath)", async () => {
    for (const [body, words] of [
      [{ model: "bad", from: "tiny", template: "{{ .Prompt" }, /template error/],
      [{ model: "bad", from: "tiny", template: "{{ if .Prompt }}x" }, /template error/],
      [{ model: "bad", from: "tiny", template: "{{ nope .Prompt }}" }, /function "nope" not defined/],
      [{ model: "bad", from: "tiny", adapters: { "lora.gguf": sha256Digest(weights) } }, /adapters are not supported/],
      [{ model: "bad", files: { "../x.gguf": sha256Digest(weights) } }, /file path must be relative/],
      [{ model: "bad", from: "tiny", parameters: { num_predict: "many" } }, /option "num_predict" must be of type integer/],
    ] as const) {
      const response = await post("/api/create", body);
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.match(((await response.json()) as { error: string }).error, words);
    }
  });

  it("an Ollama-layout model pushed by hand pulls with every layer applied; a new manifest under the tag pulls over it", async () => {
    const repository = "library/olm";
    const model = `${registry.host}/${repository}:latest`;
    const template = "{{ if .System }}[SYS]{{ .System }}[/SYS]{{ end }}{{ range .Messages }}[{{ .Role }}]{{ .Content }}{{ end }}[assistant]";
    const layer = (mediaType: string, bytes: Buffer): Blob => ({ mediaType, bytes });
    const config = layer("application/vnd.docker.container.image.v1+json", json({ model_format: "gguf", model_family: "llama", model_type: "25M", file_type: "F16" }));
    const common = [
      layer("application/vnd.ollama.image.model", weights),
      layer("application/vnd.ollama.image.template", Buffer.from(template)),
      layer("application/vnd.ollama.image.params", json({ num_predict: 2, stop: ["[user]"] })),
      layer("application/vnd.ollama.image.license", Buffer.from("Pulled license")),
      layer("application/vnd.ollama.image.messages", json([{ role: "user", content: "Pulled seed" }])),
    ];
    const firstSystem = layer("application/vnd.ollama.image.system", Buffer.from("First system."));
    await pushManifest(registry.url, repository, "latest", config, [...common, firstSystem]);

    const events = [];
    for await (const event of await ollama.pull({ model, insecure: true, stream: true })) events.push(event);
    assert.equal(events.at(-1)?.status, "success");
    const pulled = await show(model);
    assert.equal(pulled.system, "First system.");
    assert.equal(pulled.template, template);
    assert.equal(pulled.license, "Pulled license");
    assert.deepEqual(pulled.messages, [{ role: "user", content: "Pulled seed" }]);
    assert.match(pulled.parameters, /num_predict\s+2/);
    assert.ok(pulled.modelfile.includes(`TEMPLATE ${template}\n`), pulled.modelfile);

    // The Go template is rendered by the gateway, with the system prompt and the seed messages (one user turn, as Ollama's collate makes it).
    assert.equal(await rendered("/api/chat", { model, messages: hello }), "[SYS]First system.[/SYS][system]First system.[user]Pulled seed\n\nHello there[assistant]");
    const reply = await ollama.chat({ model, messages: hello });
    assert.ok(reply.done && reply.eval_count <= 2 && reply.eval_count > 0, JSON.stringify(reply));

    // /v1/completions renders the prompt through the same template, with the system prompt and seed messages, as /api/generate does.
    const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const generated = await ollama.generate({ model, prompt: "Hello there" });
    const completed = await openai.completions.create({ model, prompt: "Hello there" });
    assert.equal(completed.usage?.prompt_tokens, generated.prompt_eval_count, "the rendered prompt, as /api/generate renders it");
    assert.ok(completed.usage!.completion_tokens <= 2, `num_predict 2 from the model: ${JSON.stringify(completed.usage)}`);
    const raw = await new OpenAI({ baseURL: `${gateway.url}/engines/v1`, apiKey: "unused", maxRetries: 0 }).completions.create({ model, prompt: "Hello there", max_tokens: 1 });
    assert.ok(raw.usage!.prompt_tokens < completed.usage!.prompt_tokens, "/engines/v1 sends the prompt as it is");
    // A /v1 chat is rendered with the same template too, and answered in a chat's shape, whole or streamed.
    const chatted = await openai.chat.completions.create({ model, messages: hello });
    assert.equal(chatted.object, "chat.completion");
    assert.equal(chatted.usage?.prompt_tokens, reply.prompt_eval_count, "the prompt /api/chat renders");
    assert.equal(chatted.choices[0]!.message.role, "assistant");
    assert.equal(typeof chatted.choices[0]!.message.content, "string");
    assert.ok(chatted.usage!.completion_tokens <= 2);
    let streamedUsage: OpenAI.CompletionUsage | undefined;
    let finish: string | null | undefined;
    for await (const chunk of await openai.chat.completions.create({ model, messages: hello, stream: true, stream_options: { include_usage: true } })) {
      assert.equal(chunk.object, "chat.completion.chunk");
      streamedUsage = chunk.usage ?? streamedUsage;
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(streamedUsage?.prompt_tokens, reply.prompt_eval_count);
    assert.ok(finish === "length" || finish === "stop", String(finish));

    // A new manifest under the same tag: the next pull fetches it and retags; the old system blob goes.
    await pushManifest(registry.url, repository, "latest", config, [...common, layer("application/vnd.ollama.image.system", Buffer.from("Second system."))]);
    for await (const event of await ollama.pull({ model, insecure: true, stream: true })) void event;
    assert.equal((await show(model)).system, "Second system.");
    assert.equal((await fetch(`${gateway.url}/api/blobs/${sha256Digest(firstSystem.bytes)}`, { method: "HEAD" })).status, 404);
    assert.equal((await ollama.list()).models.filter((entry) => entry.name === model).length, 1);
  });

  it("a pulled model with a LoRA adapter layer is refused, not run without it", async () => {
    const repository = "library/with-adapter";
    const config = { mediaType: "application/vnd.docker.container.image.v1+json", bytes: json({ model_format: "gguf" }) };
    await pushManifest(registry.url, repository, "latest", config, [
      { mediaType: "application/vnd.ollama.image.model", bytes: weights },
      { mediaType: "application/vnd.ollama.image.adapter", bytes: Buffer.from("not really a lora") },
    ]);
    const response = await post("/api/pull", { model: `${registry.host}/${repository}`, insecure: true, stream: false });
    assert.notEqual(response.status, 200);
    assert.match(((await response.json()) as { error: string }).error, /LoRA adapters .* are not supported/);
  });

  it("a projector layer reaches llama-server as --mmproj: one that is not a projector fails the load in llama.cpp's words", async () => {
    const repository = "library/with-projector";
    const embedding = await readFile((await ensureFixtureModels()).embedding);
    const config = { mediaType: "application/vnd.docker.container.image.v1+json", bytes: json({ model_format: "gguf" }) };
    await pushManifest(registry.url, repository, "latest", config, [
      { mediaType: "application/vnd.ollama.image.model", bytes: weights },
      { mediaType: "application/vnd.ollama.image.projector", bytes: embedding },
    ]);
    const model = `${registry.host}/${repository}`;
    for await (const event of await ollama.pull({ model, insecure: true, stream: true })) void event;
    assert.ok((await show(model)).capabilities.includes("vision"));
    const response = await post("/api/chat", { model, messages: hello, stream: false, options: { num_predict: 1 } });
    const body = await response.text();
    assert.notEqual(response.status, 200, body);
    assert.match(body, /Failed to load CLIP model/, "llama.cpp read the layer as its projector");
  });

  it("/api/tags lists capabilities and the context length", async () => {
    const listed = (await (await fetch(`${gateway.url}/api/tags`)).json()) as { models: { name: string; capabilities: string[]; details: { context_length?: number } }[] };
    const terse = listed.models.find((entry) => entry.name === "terse:latest");
    assert.ok(terse?.capabilities.includes("completion"));
    assert.equal(typeof terse?.details.context_length, "number");
  });
});
