import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as v from "valibot";
import { chatRequestBody, inputMessages, outputMessages } from "../../src/responses/chat-translation.ts";
import { ResponsesRequestSchema } from "../../src/responses/responses-request.ts";

const request = (body: Record<string, unknown>) => v.parse(ResponsesRequestSchema, { model: "tiny", ...body });

describe("Responses requests as chat completions", () => {
  test("items become messages: developer as system, parts as chat parts, calls merged into one assistant turn, outputs as tool messages", () => {
    const { input } = request({
      input: [
        { role: "developer", content: "Be terse." },
        { type: "message", role: "user", content: [{ type: "input_text", text: "Weather?" }, { type: "input_image", image_url: "data:image/png;base64,AA==" }] },
        { type: "reasoning", id: "rs_1", summary: [] },
        { type: "function_call", call_id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' },
        { type: "function_call", call_id: "call_2", name: "get_weather", arguments: '{"city":"Rome"}' },
        { type: "function_call_output", call_id: "call_1", output: "sunny" },
        { type: "function_call_output", call_id: "call_2", output: "rain" },
      ],
    });
    assert.deepEqual(inputMessages(input), [
      { role: "system", content: "Be terse." },
      { role: "user", content: [{ type: "text", text: "Weather?" }, { type: "image_url", image_url: { url: "data:image/png;base64,AA==" } }] },
      {
        role: "assistant",
        content: "",
        tool_calls: [
          { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
          { id: "call_2", type: "function", function: { name: "get_weather", arguments: '{"city":"Rome"}' } },
        ],
      },
      { role: "tool", tool_call_id: "call_1", content: "sunny" },
      { role: "tool", tool_call_id: "call_2", content: "rain" },
    ]);
  });

  test("the body: instructions first, then history and input; options mapped; always streamed with usage", () => {
    const parsed = request({
      input: "Hi",
      instructions: "Answer in JSON.",
      max_output_tokens: 32,
      temperature: 0.2,
      tools: [{ type: "function", name: "f", parameters: { type: "object" } }],
      tool_choice: { type: "function", name: "f" },
      text: { format: { type: "json_schema", name: "out", schema: { type: "object" } } },
      reasoning: { effort: "minimal" },
    });
    const history = outputMessages([{ type: "message", id: "msg_1", role: "assistant", status: "completed", content: [{ type: "output_text", text: "Earlier.", annotations: [], logprobs: [] }] }]);
    assert.deepEqual(chatRequestBody(parsed, history, inputMessages(parsed.input)), {
      model: "tiny",
      messages: [
        { role: "system", content: "Answer in JSON." },
        { role: "assistant", content: "Earlier." },
        { role: "user", content: "Hi" },
      ],
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 32,
      temperature: 0.2,
      tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }],
      tool_choice: { type: "function", function: { name: "f" } },
      response_format: { type: "json_schema", json_schema: { name: "out", schema: { type: "object" }, strict: true } },
      chat_template_kwargs: { enable_thinking: true },
      reasoning_effort: "low",
    });
    assert.deepEqual(chatRequestBody(request({ input: "x", reasoning: { effort: "none" } }), [], []).chat_template_kwargs, { enable_thinking: false });
  });

  test("what the engine cannot serve is refused at the boundary", () => {
    for (const body of [{ input: "x", tools: [{ type: "web_search" }] }, { input: [{ type: "item_reference", id: "x" }] }, { input: 3 }, { model: "", input: "x" }]) {
      assert.equal(v.safeParse(ResponsesRequestSchema, { model: "tiny", ...body }).success, false, JSON.stringify(body));
    }
  });
});
