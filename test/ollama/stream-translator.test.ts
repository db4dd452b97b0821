import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { replyFormatter } from "../../src/ollama/ollama-replies.ts";
import { createStreamTranslator } from "../../src/ollama/stream-translator.ts";
import { chatChunk, sse, steppingClock, timings, translate, usageChunk } from "./support/translate.ts";

const createdAt = "2026-01-01T00:00:00.000Z";
const head = { model: "tiny:latest", created_at: createdAt };
const says = (content: string, thinking?: string) => ({
  ...head,
  message: { role: "assistant", content, ...(thinking ? { thinking } : {}) },
  done: false,
});

/** What llama-server sends for "Hello" with `stream_options.include_usage`. */
const plain = sse(
  chatChunk({ role: "assistant", content: null }),
  chatChunk({ content: "Hel" }),
  chatChunk({ content: "lo" }),
  chatChunk({}, "stop"),
  usageChunk(7, 2, { timings }),
  "[DONE]",
);

describe("stream translator", () => {
  test("turns content deltas into chunks and ends with one done object carrying every metric", () => {
    assert.deepEqual(translate(plain), [
      says("Hel"),
      says("lo"),
      {
        ...head,
        message: { role: "assistant", content: "" },
        done: true,
        done_reason: "stop",
        // the clock is read at the first output (1010) and at the end (1020)
        total_duration: 20_000_000,
        load_duration: 0,
        prompt_eval_count: 7,
        prompt_eval_duration: 1_500_000,
        eval_count: 2,
        eval_duration: 4_250_000,
      },
    ]);
  });

  test("gives the same objects however the bytes are cut", () => {
    const whole = translate(plain);
    for (let pieceLength = 1; pieceLength < plain.length; pieceLength += 1) {
      assert.deepEqual(translate(plain, { pieceLength }), whole, `cut every ${pieceLength} characters`);
    }
  });

  test("ignores SSE comments, pings, CRLF line ends and unknown fields", () => {
    const noisy = `: ping\n\n:\n\nid: 1\r\nretry: 3000\r\n${plain.replaceAll("\n", "\r\n").replace("data: ", ": keep-alive\r\ndata: ")}`;
    assert.deepEqual(translate(noisy), translate(plain));
  });

  test("counts appear on the final object only", () => {
    const lines = translate(plain);
    for (const line of lines.slice(0, -1)) {
      for (const key of ["eval_count", "prompt_eval_count", "total_duration", "done_reason"]) assert.equal(key in line, false);
    }
    assert.equal(lines.filter((line) => "done" in line && line.done).length, 1);
  });

  test("reasoning deltas become thinking, with content present but empty", () => {
    const lines = translate(
      sse(
        chatChunk({ reasoning_content: "Let me " }),
        chatChunk({ reasoning: "think." }),
        chatChunk({ content: "Yes." }),
        chatChunk({}, "stop"),
        "[DONE]",
      ),
    );
    assert.deepEqual(lines.slice(0, 3), [says("", "Let me "), says("", "think."), says("Yes.")]);
  });

  test("the generate shape carries response and thinking, and an empty context on the final object", () => {
    const lines = translate(
      sse(chatChunk({ reasoning_content: "hm" }), chatChunk({ content: "Hi" }), chatChunk({}, "stop"), usageChunk(3, 2), "[DONE]"),
      { shape: "generate" },
    );
    assert.deepEqual(lines.slice(0, 2), [
      { ...head, response: "", thinking: "hm", done: false },
      { ...head, response: "Hi", done: false },
    ]);
    assert.deepEqual(lines[2], {
      ...head,
      response: "",
      done: true,
      done_reason: "stop",
      context: [],
      total_duration: 20_000_000,
      load_duration: 0,
      prompt_eval_count: 3,
      // no timings: prompt time runs from the request to the first output, eval time from there on
      prompt_eval_duration: 10_000_000,
      eval_count: 2,
      eval_duration: 10_000_000,
    });
  });

  test("plain completion chunks (`text`) become response chunks", () => {
    const textChunk = (text: string, finish: string | null = null) => ({
      choices: [{ text, index: 0, logprobs: null, finish_reason: finish }],
      object: "text_completion",
    });
    const lines = translate(sse(textChunk("Once"), textChunk(" upon"), textChunk("", "length"), "[DONE]"), { shape: "generate" });
    assert.deepEqual(
      lines.map((line) => ("response" in line ? line.response : line)),
      ["Once", " upon", ""],
    );
    assert.equal("done_reason" in lines[2]! && lines[2].done_reason, "length");
  });

  test("tool calls split over many deltas go out whole, in one chunk, with object arguments", () => {
    const call = (index: number, fn: object, id?: string) =>
      chatChunk({ tool_calls: [{ index, ...(id ? { id, type: "function" } : {}), function: fn }] });
    const lines = translate(
      sse(
        call(0, { name: "get_weather", arguments: "" }, "call_upstream1"),
        call(0, { arguments: '{"ci' }),
        call(1, { name: "get_time", arguments: '{"zone"' }),
        call(0, { arguments: 'ty": "Paris"}' }),
        call(1, { arguments: ': "UTC"}' }),
        chatChunk({}, "tool_calls"),
        usageChunk(20, 12, { timings }),
        "[DONE]",
      ),
    );
    assert.equal(lines.length, 2);
    assert.deepEqual(lines[0], {
      ...head,
      message: {
        role: "assistant",
        content: "",
        tool_calls: [
          { id: "call_upstream1", function: { index: 0, name: "get_weather", arguments: { city: "Paris" } } },
          { id: "call_00000001", function: { index: 1, name: "get_time", arguments: { zone: "UTC" } } },
        ],
      },
      done: false,
    });
    assert.equal("done_reason" in lines[1]! && lines[1].done_reason, "stop");
    assert.equal("eval_count" in lines[1]! && lines[1].eval_count, 12);
  });

  test("tool calls without arguments get an empty object; double-encoded arguments are decoded", () => {
    const lines = translate(
      sse(
        chatChunk({ tool_calls: [{ index: 0, id: "a", function: { name: "now", arguments: "" } }] }),
        chatChunk({ tool_calls: [{ index: 1, id: "b", function: { name: "echo", arguments: JSON.stringify('{"x":1}') } }] }),
        chatChunk({}, "tool_calls"),
        "[DONE]",
      ),
    );
    const first = lines[0]!;
    assert.ok("message" in first);
    assert.deepEqual(
      first.message.tool_calls?.map((c) => c.function.arguments),
      [{}, { x: 1 }],
    );
  });

  test("tool call arguments that are not a JSON object end the stream with an error", () => {
    const lines = translate(
      sse(chatChunk({ tool_calls: [{ index: 0, id: "a", function: { name: "f", arguments: "[1, 2" } }] }), chatChunk({}, "tool_calls"), "[DONE]"),
    );
    assert.equal(lines.length, 1);
    assert.match((lines[0] as { error: string }).error, /not a JSON object: \[1, 2/);
  });

  test("a tool call cut off by the token limit is the text produced, ending with done_reason length", () => {
    const lines = translate(
      sse(
        chatChunk({ tool_calls: [{ index: 0, id: "a", function: { name: "get_weather", arguments: "{" } }] }),
        chatChunk({ tool_calls: [{ index: 0, function: { arguments: '"city": "Pa' } }] }),
        chatChunk({}, "length"),
        "[DONE]",
      ),
    );
    assert.deepEqual(lines[0], says('{"name": "get_weather", "arguments": {"city": "Pa'));
    assert.equal((lines[1] as { done_reason: string }).done_reason, "length");
  });

  test("logprobs go out with their chunk in Ollama's shape, alternatives cut to top_logprobs", () => {
    const alternatives = [
      { id: 1, token: "Hi", bytes: [72, 105], logprob: -0.1 },
      { id: 2, token: "Ho", bytes: [72, 111], logprob: -2 },
    ];
    const logprobs = { content: [{ id: 1, token: "Hi", bytes: [72, 105], logprob: -0.1, top_logprobs: alternatives }] };
    const stream = sse(
      { choices: [{ index: 0, delta: { content: "Hi" }, logprobs, finish_reason: null }] },
      // A piece of a tool call shows no text; its probabilities still go out.
      { choices: [{ index: 0, delta: {}, logprobs, finish_reason: null }] },
      chatChunk({}, "stop"),
      "[DONE]",
    );
    const [first, second] = translate(stream, { topLogprobs: 1 });
    const expected = [{ token: "Hi", logprob: -0.1, bytes: [72, 105], top_logprobs: [{ token: "Hi", logprob: -0.1, bytes: [72, 105] }] }];
    assert.deepEqual(first, { ...says("Hi"), logprobs: expected });
    assert.deepEqual(second, { ...says(""), logprobs: expected });
    assert.deepEqual((translate(stream, { topLogprobs: 0 })[0] as { logprobs: unknown }).logprobs, [{ token: "Hi", logprob: -0.1, bytes: [72, 105] }]);
    assert.equal((translate(stream)[0] as { logprobs?: unknown }).logprobs, undefined, "not asked for, not sent");
  });

  test("llama-server's native chunks (infill): content, then stop with its type", () => {
    const native = (content: string, stop: boolean, extra: object = {}) => ({ index: 0, content, tokens: [], stop, ...extra });
    const lines = translate(sse(native("re", false), native("turn", false), native("", true, { stop_type: "limit", timings })), { shape: "generate" });
    assert.deepEqual(
      lines.map((line) => ("response" in line ? line.response : line)),
      ["re", "turn", ""],
    );
    assert.equal((lines[2] as { done_reason: string }).done_reason, "length");
    assert.equal((lines[2] as { eval_count: number }).eval_count, timings.predicted_n);
    const eos = translate(sse(native("x", false), native("", true, { stop_type: "eos" })), { shape: "generate" }).at(-1)!;
    assert.equal((eos as { done_reason: string }).done_reason, "stop");
  });

  test("finish_reason length maps to done_reason length; anything else to stop", () => {
    const reason = (finish: string) => {
      const last = translate(sse(chatChunk({ content: "x" }), chatChunk({}, finish), "[DONE]")).at(-1)!;
      return "done_reason" in last ? last.done_reason : undefined;
    };
    assert.equal(reason("length"), "length");
    assert.equal(reason("stop"), "stop");
    assert.equal(reason("tool_calls"), "stop");
    assert.equal(reason("content_filter"), "stop");
  });

  test("without usage the counts come from timings (cached prompt tokens included)", () => {
    const last = translate(sse(chatChunk({ content: "x" }), chatChunk({}, "stop", { timings }), "[DONE]")).at(-1)!;
    assert.ok("eval_count" in last);
    assert.equal(last.prompt_eval_count, 7);
    assert.equal(last.eval_count, 3);
    assert.equal(last.prompt_eval_duration, 1_500_000);
  });

  test("without usage or timings the output pieces are counted and the load time passed on", () => {
    const last = translate(sse(chatChunk({ content: "a" }), chatChunk({ content: "b" }), chatChunk({}, "stop"), "[DONE]"), {
      loadDurationMs: 2.5,
    }).at(-1)!;
    assert.ok("eval_count" in last);
    assert.equal(last.eval_count, 2);
    assert.equal(last.prompt_eval_count, 0);
    assert.equal(last.load_duration, 2_500_000);
    assert.ok(Number.isInteger(last.prompt_eval_duration) && last.prompt_eval_duration >= 0);
  });

  test("an engine error after the first byte is one error line and no done object", () => {
    const error = { error: { code: 500, message: "failed to decode the batch", type: "server_error" } };
    const lines = translate(sse(chatChunk({ content: "Hi" }), error, chatChunk({ content: "ignored" }), chatChunk({}, "stop"), "[DONE]"));
    assert.deepEqual(lines, [says("Hi"), { error: "failed to decode the batch" }]);
  });

  test("`event: error` and bare `error:` lines are engine errors too", () => {
    assert.deepEqual(translate(`event: error\ndata: {"message":"out of memory"}\n\n`), [{ error: "out of memory" }]);
    assert.deepEqual(translate(`error: {"code":500,"message":"boom"}\n\n`), [{ error: "boom" }]);
    assert.deepEqual(translate(sse({ error: "plain words" })), [{ error: "plain words" }]);
  });

  test("an event that is not a chunk is an error", () => {
    assert.match((translate(sse("{not json")) as { error: string }[])[0]!.error, /unreadable event: \{not json/);
    const malformed = [
      { choices: "nope" },
      [],
      { choices: [{ delta: { content: 42 } }] },
      { choices: [{ delta: "Hi" }] },
      { choices: [{ text: "a" }, { finish_reason: 1 }] },
      { choices: [{ delta: { tool_calls: [{ index: "0" }] } }] },
      { choices: [{ delta: { tool_calls: [{ function: { arguments: {} } }] } }] },
      { usage: { prompt_tokens: 1 } },
      { timings: { prompt_n: 1, prompt_ms: 1, predicted_n: 1, predicted_ms: 1, cache_n: "0" } },
    ];
    for (const chunk of malformed) {
      assert.match((translate(sse(chunk)) as { error: string }[])[0]!.error, /unreadable event/, JSON.stringify(chunk));
    }
  });

  test("a stream that stops before finish_reason ends with an error line, never silently", () => {
    assert.deepEqual(translate(sse(chatChunk({ content: "Hi" }))), [
      says("Hi"),
      { error: "the engine's stream ended before the reply was complete" },
    ]);
    assert.deepEqual(translate(sse(chatChunk({ content: "Hi" })), { failure: "socket hang up" }).at(-1), {
      error: "the engine's stream broke: socket hang up",
    });
    assert.deepEqual(translate(sse(chatChunk({ content: "Hi" }), "[DONE]")).at(-1), {
      error: "the engine's stream ended before the reply was complete",
    });
    assert.deepEqual(translate(""), [{ error: "the engine's stream ended before the reply was complete" }]);
  });

  test("a finished reply whose stream ends without [DONE] still gets its done object", () => {
    const lines = translate(sse(chatChunk({ content: "Hi" }), chatChunk({}, "stop"), usageChunk(4, 1)), { failure: "socket hang up" });
    assert.equal(lines.length, 2);
    assert.ok("done" in lines[1]! && lines[1].done);
    assert.equal("eval_count" in lines[1]! && lines[1].eval_count, 1);
  });

  test("once closed, further input and end() add nothing", () => {
    const translator = createStreamTranslator({ formatter: replyFormatter("chat", "m"), startedAt: 0, now: steppingClock() });
    assert.equal(translator.push(plain).length, 3);
    assert.deepEqual(translator.push(sse(chatChunk({ content: "late" }), "[DONE]")), []);
    assert.deepEqual(translator.end(), []);
    assert.deepEqual(translator.end("again"), []);
  });
});
