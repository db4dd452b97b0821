import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as v from "valibot";
import { ChatRequestSchema, translateChatRequest } from "../../src/ollama/chat-request.ts";
import { GenerateRequestSchema, translateGenerateRequest } from "../../src/ollama/generate-request.ts";
import { imageDataUrl, InvalidImageError } from "../../src/ollama/image-data-url.ts";
import { InvalidOptionError, readRequestOptions } from "../../src/ollama/request-options.ts";

const chat = (body: object) => translateChatRequest(v.parse(ChatRequestSchema, body));
const generate = (body: object) => translateGenerateRequest(v.parse(GenerateRequestSchema, body));
const hi = [{ role: "user", content: "hi" }];
const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]).toString("base64");

describe("options", () => {
  test("known options map to the engine's fields, load-time ones to the runner's; unknown ones are reported as ignored", () => {
    assert.deepEqual(
      readRequestOptions({
        temperature: 0.2,
        top_p: 0.9,
        top_k: 40.7,
        min_p: 0.05,
        typical_p: 1,
        repeat_penalty: 1.1,
        repeat_last_n: 64,
        presence_penalty: 0.5,
        frequency_penalty: 0.25,
        seed: 42,
        stop: ["\n"],
        num_predict: 128,
        num_keep: 4,
        num_ctx: 8192,
        num_thread: 2,
        mirostat: 0,
        tfs_z: 1,
        penalize_newline: true,
      }),
      {
        sampling: {
          temperature: 0.2,
          top_p: 0.9,
          top_k: 40,
          min_p: 0.05,
          typical_p: 1,
          repeat_penalty: 1.1,
          repeat_last_n: 64,
          presence_penalty: 0.5,
          frequency_penalty: 0.25,
          stop: ["\n"],
          max_tokens: 128,
          seed: 42,
          n_keep: 4,
        },
        runner: { "context-size": 8192, threads: 2 },
        ignored: ["mirostat", "tfs_z", "penalize_newline"],
      },
    );
  });

  test("Ollama's 'no limit' and 'random' values, nulls and a lone stop string", () => {
    assert.deepEqual(readRequestOptions({ num_predict: -1, seed: -1, temperature: null, stop: "END" }), {
      sampling: { stop: ["END"] },
      runner: {},
      ignored: [],
    });
    assert.deepEqual(readRequestOptions({ num_predict: -2 }).sampling, {});
  });

  test("a known option of the wrong type is refused in Ollama's words", () => {
    const refusal = (options: Record<string, unknown>) => {
      try {
        readRequestOptions(options);
      } catch (error) {
        assert.ok(error instanceof InvalidOptionError);
        return error.message;
      }
      assert.fail("accepted");
    };
    assert.equal(refusal({ num_ctx: "4096" }), 'option "num_ctx" must be of type integer');
    assert.equal(refusal({ temperature: "hot" }), 'option "temperature" must be of type float32');
    assert.equal(refusal({ use_mmap: 1 }), 'option "use_mmap" must be of type boolean');
    assert.equal(refusal({ stop: 5 }), 'option "stop" must be of type array');
    assert.match(refusal({ stop: ["a", 1] }), /^option "stop" must be of /);
    // Finite in JSON, yet more than the type holds.
    assert.equal(refusal({ num_ctx: 1e308 }), 'option "num_ctx" must be of type integer');
    assert.equal(refusal({ seed: -(2 ** 60) }), 'option "seed" must be of type integer');
    assert.equal(refusal({ temperature: 1e39 }), 'option "temperature" must be of type float32');
    assert.equal(readRequestOptions({ num_ctx: 2 ** 31, temperature: -3.4e38 }).runner["context-size"], 2 ** 31 - 1);
  });
});

describe("load-time options, truncate and shift", () => {
  test("each load-time option becomes a runner setting; Ollama's 'automatic' values leave the default", () => {
    const options = { num_ctx: 1, num_gpu: 0, num_thread: 3, num_batch: 64, use_mmap: false, main_gpu: 1, draft_num_predict: 0 };
    assert.deepEqual(readRequestOptions(options).runner, {
      "context-size": 4,
      "gpu-layers": 0,
      threads: 3,
      "batch-size": 64,
      mmap: false,
      "main-gpu": 1,
      "draft-tokens": 0,
    });
    assert.deepEqual(readRequestOptions({ num_gpu: -1, num_thread: 0, num_batch: 0 }).runner, {});
  });

  test("truncate is sent to the engines (default true); shift: false asks for a runner that does not shift", () => {
    assert.equal(chat({ model: "m", messages: hi }).engine?.body.truncate, true);
    assert.equal(chat({ model: "m", messages: hi, truncate: false }).engine?.body.truncate, false);
    assert.deepEqual(generate({ model: "m", prompt: "p", shift: false }).engine?.body.runner_options, { "context-shift": false });
    assert.equal(generate({ model: "m", prompt: "p", shift: true }).engine?.body.runner_options, undefined, "shifting is the default runner");
    assert.deepEqual(chat({ model: "m", options: { num_ctx: 512 } }).runnerOptions, { "context-size": 512 }, "a load request takes them too");
  });
});

describe("/api/chat translation", () => {
  test("a plain chat streams from the engine with usage, whatever the client's stream says", () => {
    const call = chat({ model: "tiny", messages: hi, stream: false, keep_alive: "5m", options: { num_ctx: 2048 } });
    assert.equal(call.stream, false);
    assert.equal(call.keepAlive, "5m");
    assert.deepEqual(call.runnerOptions, { "context-size": 2048 });
    assert.deepEqual(call.engine, {
      path: "/v1/chat/completions",
      body: { model: "tiny", stream: true, stream_options: { include_usage: true }, truncate: true, runner_options: { "context-size": 2048 }, messages: hi },
    });
    assert.equal(chat({ model: "tiny", messages: hi }).stream, true, "stream absent means streaming");
    assert.equal(chat({ name: "tiny", messages: hi }).model, "tiny", "name stands for model");
  });

  test("format: json mode, a JSON schema, or a 400", () => {
    assert.deepEqual(chat({ model: "m", messages: hi, format: "json" }).engine?.body.response_format, { type: "json_object" });
    const schema = { type: "object", properties: { a: { type: "string" } } };
    assert.deepEqual(chat({ model: "m", messages: hi, format: schema }).engine?.body.response_format, {
      type: "json_schema",
      json_schema: { name: "response", strict: true, schema },
    });
    assert.equal(chat({ model: "m", messages: hi, format: "" }).engine?.body.response_format, undefined);
    assert.throws(() => chat({ model: "m", messages: hi, format: "yaml" }), { status: 400 });
  });

  test("think: a switch for the template, a level as reasoning effort (max is high), anything else refused in Ollama's words", () => {
    assert.deepEqual(chat({ model: "m", messages: hi, think: false }).engine?.body.chat_template_kwargs, { enable_thinking: false });
    assert.equal(chat({ model: "m", messages: hi, think: false }).thinks, false);
    const high = chat({ model: "m", messages: hi, think: "high" });
    assert.deepEqual(high.engine?.body.chat_template_kwargs, { enable_thinking: true });
    assert.equal(high.engine?.body.reasoning_effort, "high");
    assert.equal(high.thinks, true);
    assert.equal(chat({ model: "m", messages: hi, think: "max" }).engine?.body.reasoning_effort, "high");
    assert.throws(() => chat({ model: "m", messages: hi, think: "extreme" }), {
      status: 400,
      message: 'invalid think value: "extreme" (must be "high", "medium", "low", "max", true, or false)',
    });
  });

  test("logprobs: the engine computes at least one alternative; top_logprobs over 20 is Ollama's 400 (TestGenerateLogprobs)", () => {
    assert.equal(chat({ model: "m", messages: hi, logprobs: true }).engine?.body.n_probs, 1);
    assert.deepEqual(chat({ model: "m", messages: hi, logprobs: true, top_logprobs: 5 }).logprobs, { top: 5 });
    assert.equal(chat({ model: "m", messages: hi, top_logprobs: 5 }).engine?.body.n_probs, undefined);
    for (const top_logprobs of [-1, 21]) {
      assert.throws(() => generate({ model: "m", prompt: "p", logprobs: true, top_logprobs }), {
        status: 400,
        message: "top_logprobs must be between 0 and 20",
      });
    }
  });

  test("roles are read case-insensitively, as Ollama's Message does", () => {
    const messages = chat({ model: "m", messages: [{ role: "USER", content: "hi" }, { role: "Assistant", content: "yo" }] }).engine?.body
      .messages as { role: string }[];
    assert.deepEqual(messages.map((message) => message.role), ["user", "assistant"]);
  });

  test("what the model must be able to do: tools, images", () => {
    assert.deepEqual(chat({ model: "m", messages: hi }).capabilities, ["completion"]);
    const tools = [{ type: "function", function: { name: "f" } }];
    assert.deepEqual(chat({ model: "m", messages: [{ role: "user", content: "x", images: ["data:image/png;base64,AAAA"] }], tools }).capabilities, [
      "completion",
      "tools",
      "vision",
    ]);
  });

  test("tools, tool calls in history (object or string arguments) and tool results matched to their call", () => {
    const tools = [{ type: "function", function: { name: "get_weather", parameters: { type: "object" } } }];
    const call = chat({
      model: "m",
      tools,
      messages: [
        { role: "user", content: "weather?" },
        {
          role: "assistant",
          content: "",
          thinking: "they want weather",
          tool_calls: [
            { function: { name: "get_weather", arguments: { city: "Paris" } } },
            { id: "call_given", function: { name: "get_time", arguments: '{"zone":"UTC"}' } },
          ],
        },
        { role: "tool", content: "sunny", tool_name: "get_weather" },
        { role: "tool", content: "noon", tool_call_id: "call_given" },
      ],
    });
    const body = call.engine!.body as { tools: unknown; messages: Record<string, any>[] };
    assert.deepEqual(body.tools, tools);
    const [, assistant, weather, time] = body.messages;
    assert.equal(assistant!.reasoning_content, "they want weather");
    const [first, second] = assistant!.tool_calls;
    assert.match(first.id, /^call_[a-z0-9]{8}$/);
    assert.deepEqual(first.function, { name: "get_weather", arguments: '{"city":"Paris"}' });
    assert.deepEqual(second, { id: "call_given", type: "function", function: { name: "get_time", arguments: '{"zone":"UTC"}' } });
    assert.deepEqual(weather, { role: "tool", content: "sunny", tool_call_id: first.id, name: "get_weather" });
    assert.deepEqual(time, { role: "tool", content: "noon", tool_call_id: "call_given" });
  });

  test("images become data URLs in content parts", () => {
    const call = chat({ model: "m", messages: [{ role: "user", content: "what is it?", images: [png] }] });
    assert.deepEqual((call.engine!.body.messages as Record<string, unknown>[])[0]!.content, [
      { type: "text", text: "what is it?" },
      { type: "image_url", image_url: { url: `data:image/png;base64,${png}` } },
    ]);
  });

  test("no messages: nothing for the engine, the request only loads or unloads", () => {
    assert.equal(chat({ model: "m", messages: [] }).engine, undefined);
    assert.equal(chat({ model: "m" }).engine, undefined);
  });

  test("a missing model is a 400", () => {
    assert.throws(() => chat({ messages: hi }), { status: 400, message: "model is required" });
  });
});

describe("/api/generate translation", () => {
  test("a prompt with a system prompt and images is one chat turn", () => {
    const call = generate({ model: "m", prompt: "describe", system: "be brief", images: [png], options: { num_predict: 3 } });
    assert.equal(call.shape, "generate");
    assert.equal(call.engine!.path, "/v1/chat/completions");
    assert.equal(call.engine!.body.max_tokens, 3);
    const messages = call.engine!.body.messages as Record<string, unknown>[];
    assert.deepEqual(messages[0], { role: "system", content: "be brief" });
    assert.equal(messages[1]!.role, "user");
  });

  test("raw is a plain completion of the prompt as is; a suffix is the engine's infill, and needs the insert capability", () => {
    assert.deepEqual(generate({ model: "m", prompt: "<s>[INST] x", raw: true }).engine, {
      path: "/v1/completions",
      body: { model: "m", stream: true, stream_options: { include_usage: true }, truncate: true, prompt: "<s>[INST] x" },
    });
    const infill = generate({ model: "m", prompt: "def f(", suffix: "    return x" });
    assert.equal(infill.engine?.path, "/infill");
    assert.equal(infill.engine?.body.input_prefix, "def f(");
    assert.equal(infill.engine?.body.input_suffix, "    return x");
    assert.deepEqual(infill.capabilities, ["completion", "insert"]);
  });

  test("a templated reply carries its conversation (context), continued when given", () => {
    assert.deepEqual(generate({ model: "m", prompt: "p" }).conversation, { previous: [] });
    assert.deepEqual(generate({ model: "m", prompt: "p", context: [1, 2] }).conversation, { previous: [1, 2] });
    assert.equal(generate({ model: "m", prompt: "p", raw: true }).conversation, undefined);
  });

  test("raw with a template, system prompt or context is a 400", () => {
    for (const extra of [{ template: "{{ .Prompt }}" }, { system: "s" }, { context: [1, 2] }]) {
      assert.throws(() => generate({ model: "m", prompt: "p", raw: true, ...extra }), { status: 400 });
    }
    assert.ok(generate({ model: "m", prompt: "p", raw: true, context: [] }).engine, "an empty context is no context");
  });

  test("an empty prompt only loads (or unloads)", () => {
    assert.equal(generate({ model: "m" }).engine, undefined);
    assert.equal(generate({ model: "m", prompt: "", keep_alive: 0 }).keepAlive, 0);
  });
});

describe("images", () => {
  test("the MIME type is sniffed; data URLs pass; anything else is refused", () => {
    const b64 = (bytes: number[]) => Buffer.from([...bytes, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).toString("base64");
    assert.match(imageDataUrl(b64([0xff, 0xd8, 0xff])), /^data:image\/jpeg;base64,/);
    assert.match(imageDataUrl(b64([0x47, 0x49, 0x46, 0x38])), /^data:image\/gif;base64,/);
    assert.match(imageDataUrl(b64([0x52, 0x49, 0x46, 0x46, 1, 2, 3, 4, 0x57, 0x45, 0x42, 0x50])), /^data:image\/webp;base64,/);
    assert.equal(imageDataUrl("data:image/png;base64,AAAA"), "data:image/png;base64,AAAA");
    assert.throws(() => imageDataUrl("not base64!"), InvalidImageError);
    assert.throws(() => imageDataUrl(b64([1, 2, 3])), InvalidImageError);
  });
});
