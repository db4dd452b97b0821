/**
 * Anthropic's Messages API on vLLM (issue 19, item 5), end to end: the real
 * gateway, the real `@anthropic-ai/sdk` client, and the vLLM stand-in in
 * ./stand-in/vllm (NOT vLLM; see its header) playing a release before
 * Anthropic's route existed (0.11.0: FastAPI's 404, so the gateway probes
 * and translates to chat completions) and one with it (0.11.1, vLLM PR
 * #22627, vllm/entrypoints/anthropic/: passed through). The stand-in's file
 * of requests shows which route each request took.
 */
import Anthropic from "@anthropic-ai/sdk";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { useGateway } from "../../support/gateway.ts";
import { createSafetensorsModel, safetensorsFiles } from "./safetensors-fixture.ts";

const standIn = new URL("./stand-in/vllm", import.meta.url).pathname;

function standInGateway(version: string) {
  const scratch = mkdtempSync(join(tmpdir(), "modelgate-vllm-anthropic-"));
  after(() => rm(scratch, { recursive: true, force: true }));
  const requests = join(scratch, "requests.jsonl");
  const fixture = useGateway({
    env: { VLLM_SERVER_PATH: standIn, VLLM_STAND_IN_VERSION: version, VLLM_STAND_IN_REQUESTS_FILE: requests, VLLM_STAND_IN_DELAY_MS: "200" },
  });
  /** The paths the stand-in was sent, in order. */
  const paths = async () => (await readFile(requests, "utf8").catch(() => "")).split("\n").filter(Boolean).map((line) => (JSON.parse(line) as { path: string }).path);
  const client = () => new Anthropic({ baseURL: fixture.gateway.url, apiKey: "unused", maxRetries: 0 });
  return { fixture, paths, client };
}

const weatherTool: Anthropic.Tool = {
  name: "get_weather",
  description: "The weather in a city",
  input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};
const question: Anthropic.MessageParam[] = [{ role: "user", content: "What is the weather in Paris?" }];
const textOf = (message: Anthropic.Message) => message.content.map((block) => (block.type === "text" ? block.text : "")).join("");

describe("Anthropic Messages on vLLM 0.11.0 (no /v1/messages): probed once per runner, translated to chat completions", { timeout: 120_000 }, () => {
  const { fixture, paths, client } = standInGateway("0.11.0");

  it("messages.create: the first request probes the route (FastAPI's 404), the answer comes translated; later requests go straight to chat completions", async () => {
    await createSafetensorsModel(fixture.gateway.url, fixture.ollama, "st", safetensorsFiles());
    const message = await client().messages.create({ model: "st", max_tokens: 4, system: "Be brief.", messages: question });
    assert.match(message.id, /^msg_[0-9a-f]{24}$/);
    assert.deepEqual([message.type, message.role, message.model, message.stop_reason, message.stop_sequence], ["message", "assistant", "st", "max_tokens", null]);
    assert.equal(message.content.length, 1);
    assert.match(textOf(message), /^( w\d+){4}$/);
    assert.equal(message.usage.output_tokens, 4);
    assert.ok(message.usage.input_tokens > 0);
    assert.deepEqual(await paths(), ["/v1/messages", "/v1/chat/completions"]);

    const again = await client().messages.create({ model: "st", max_tokens: 4, system: "Be brief.", messages: question });
    assert.equal(textOf(again), textOf(message), "the stand-in answers the same prompt the same way");
    assert.deepEqual(await paths(), ["/v1/messages", "/v1/chat/completions", "/v1/chat/completions"]);
  });

  it("messages.stream: Anthropic's events add up to the final message", async () => {
    const stream = client().messages.stream({ model: "st", max_tokens: 5, messages: [{ role: "user", content: "Hi" }] });
    const events: string[] = [];
    let streamed = "";
    stream.on("streamEvent", (event) => events.push(event.type));
    stream.on("text", (delta) => (streamed += delta));
    const message = await stream.finalMessage();
    assert.deepEqual(events, ["message_start", "content_block_start", ...Array(5).fill("content_block_delta"), "content_block_stop", "message_delta", "message_stop"]);
    assert.equal(textOf(message), streamed);
    assert.deepEqual([message.stop_reason, message.usage.output_tokens], ["max_tokens", 5]);
    assert.ok(message.usage.input_tokens > 0, "usage from the engine's last chunk, in message_delta");
    assert.equal((await paths()).at(-1), "/v1/chat/completions");
  });

  it("stop_sequences: the stop string vLLM names in stop_reason comes back as stop_sequence", async () => {
    const messages: Anthropic.MessageParam[] = [{ role: "user", content: "Count" }];
    const whole = textOf(await client().messages.create({ model: "st", max_tokens: 6, messages }));
    const words = whole.trim().split(" ");
    const stopped = await client().messages.create({ model: "st", max_tokens: 6, messages, stop_sequences: [words[2]!] });
    assert.deepEqual([stopped.stop_reason, stopped.stop_sequence], ["stop_sequence", words[2]]);
    assert.equal(textOf(stopped), ` ${words.slice(0, 2).join(" ")}`);
  });

  it("tools, streamed and not: a tool_use block with a toolu_ id and its input, stop_reason tool_use; the tool_result goes back as a tool message", async () => {
    const message = await client().messages.create({ model: "st", max_tokens: 16, messages: question, tools: [weatherTool] });
    assert.equal(message.stop_reason, "tool_use");
    const [call] = message.content;
    assert.ok(call?.type === "tool_use", JSON.stringify(message.content));
    assert.match(call.id, /^toolu_/);
    assert.deepEqual([call.name, call.input], ["get_weather", { city: "Paris" }]);

    const stream = client().messages.stream({ model: "st", max_tokens: 16, messages: question, tools: [weatherTool], tool_choice: { type: "tool", name: "get_weather" } });
    const json: string[] = [];
    stream.on("inputJson", (partial) => json.push(partial));
    const streamed = await stream.finalMessage();
    assert.equal(streamed.stop_reason, "tool_use");
    assert.ok(json.length > 1, "the arguments came as input_json_delta pieces");
    assert.deepEqual(streamed.content.map((block) => (block.type === "tool_use" ? [block.name, block.input] : block.type)), [["get_weather", { city: "Paris" }]]);

    const answer = await client().messages.create({
      model: "st",
      max_tokens: 3,
      messages: [...question, { role: "assistant", content: message.content }, { role: "user", content: [{ type: "tool_result", tool_use_id: call.id, content: "sunny" }] }],
      tools: [weatherTool],
      tool_choice: { type: "none" },
    });
    assert.deepEqual([answer.stop_reason, answer.content[0]?.type], ["max_tokens", "text"]);
  });

  it("countTokens: vLLM's /tokenize counts the templated chat, the same count the reply reports", async () => {
    const messages: Anthropic.MessageParam[] = [{ role: "user", content: "Tell me about the weather in Paris today." }];
    const { input_tokens: counted } = await client().messages.countTokens({ model: "st", system: "Be brief.", messages });
    const reply = await client().messages.create({ model: "st", max_tokens: 1, system: "Be brief.", messages });
    assert.equal(counted, reply.usage.input_tokens);
    assert.equal((await paths()).filter((path) => path === "/v1/messages/count_tokens").length, 0, "the runner is known to lack the route");
  });

  it("what a chat completion cannot carry is a 400 invalid_request_error, and the server keeps serving", async () => {
    const image: Anthropic.ImageBlockParam = { type: "image", source: { type: "url", url: "https://example.com/a.png" } };
    const failure = await client()
      .messages.create({ model: "st", max_tokens: 4, messages: [{ role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: [image] }] }] })
      .catch((error: unknown) => error);
    assert.ok(failure instanceof Anthropic.BadRequestError, String(failure));
    assert.deepEqual(failure.error, { type: "error", error: { type: "invalid_request_error", message: "messages.0.content: images inside a tool_result are not supported by this model's engine" } });
    assert.equal((await client().messages.create({ model: "st", max_tokens: 1, messages: question })).type, "message");
  });

  it("a new runner is probed again, once", async () => {
    await fetch(`${fixture.gateway.url}/engines/unload`, { method: "POST", body: JSON.stringify({ all: true }) });
    const before = (await paths()).length;
    for (let i = 0; i < 3; i++) await client().messages.create({ model: "st", max_tokens: 1, messages: question });
    assert.deepEqual((await paths()).slice(before), ["/v1/chat/completions", "/v1/messages", "/v1/chat/completions", "/v1/chat/completions"]);
  });
});

describe("Anthropic Messages on vLLM 0.11.1 (vllm/entrypoints/anthropic/): the runner's own route", { timeout: 120_000 }, () => {
  const { fixture, paths, client } = standInGateway("0.11.1");

  it("messages.create, messages.stream and countTokens go to the runner's /v1/messages, never translated", async () => {
    await createSafetensorsModel(fixture.gateway.url, fixture.ollama, "st", safetensorsFiles());
    const message = await client().messages.create({ model: "st", max_tokens: 4, messages: question });
    assert.match(message.id, /^msg_/);
    assert.deepEqual([message.model, message.stop_reason], ["st", "max_tokens"]);
    assert.match(textOf(message), /^( w\d+){4}$/);
    const streamed = await client().messages.stream({ model: "st", max_tokens: 3, messages: question }).finalMessage();
    assert.match(textOf(streamed), /^( w\d+){3}$/);
    const { input_tokens } = await client().messages.countTokens({ model: "st", messages: question });
    assert.ok(input_tokens > 0);
    assert.deepEqual(await paths(), ["/v1/messages", "/v1/messages", "/v1/messages/count_tokens"]);
  });
});
