import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Readable } from "node:stream";
import { describeEngineRefusal, engineRefusal } from "../../src/scheduling/engine-refusal.ts";

describe("an engine's refusal in OpenAI's words", () => {
  test("llama-server's context overflow: its message, 400, OpenAI's code as a string", () => {
    const body = '{"error":{"code":400,"message":"request (9000 tokens) exceeds the available context size (4096 tokens)","type":"exceed_context_size_error","n_prompt_tokens":9000,"n_ctx":4096}}';
    assert.deepEqual(describeEngineRefusal(400, body), {
      status: 400,
      message: "request (9000 tokens) exceeds the available context size (4096 tokens)",
      type: "invalid_request_error",
      code: "context_length_exceeded",
    });
  });

  test("a full engine: 503, a server error", () => {
    const refusal = describeEngineRefusal(503, '{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}');
    assert.deepEqual(refusal, { status: 503, message: "Loading model", type: "server_error", code: "engine_unavailable" });
  });

  test("vLLM's flat error: a number code becomes none, never a number", () => {
    const refusal = describeEngineRefusal(400, '{"object":"error","message":"bad","type":"BadRequestError","param":null,"code":400}');
    assert.deepEqual(refusal, { status: 400, message: "bad", type: "invalid_request_error", code: null });
  });

  test("a string code is kept; a bare error string is the message", () => {
    assert.equal(describeEngineRefusal(404, '{"error":{"message":"m","code":"model_not_found"}}').code, "model_not_found");
    assert.equal(describeEngineRefusal(404, '{"error":{"message":"m"}}').type, "not_found_error");
    assert.equal(describeEngineRefusal(500, '{"error":"boom"}').message, "boom");
  });

  test("plain text is the message; JSON of an unknown shape is never echoed inside it", () => {
    assert.equal(describeEngineRefusal(502, "Bad Gateway\n").message, "Bad Gateway");
    assert.equal(describeEngineRefusal(500, '{"detail":{"x":1}}').message, "the engine refused the request (status 500)");
    assert.equal(describeEngineRefusal(500, "").message, "the engine refused the request (status 500)");
  });

  test("a huge body is read only up to a bound", async () => {
    const huge = `${"x".repeat(1024 * 1024)}`;
    const refusal = await engineRefusal({ status: 500, body: Readable.from([Buffer.from(huge)]) });
    assert.ok(refusal.message.length <= 1000);
  });
});

describe("vLLM's refusals (issue 19)", () => {
  test("vLLM's nested error with an integer code (0.10.1+, vllm/entrypoints/openai/protocol.py ErrorResponse): its message, no number code", () => {
    const nested = describeEngineRefusal(400, '{"error":{"message":"too long","type":"BadRequestError","param":null,"code":400}}');
    assert.deepEqual(nested, { status: 400, message: "too long", type: "invalid_request_error", code: null });
  });

  test("FastAPI's detail: a route the engine lacks is not a missing model, pydantic's issues are listed without their JSON", () => {
    assert.equal(describeEngineRefusal(404, '{"detail":"Not Found"}').message, "the engine serving this model does not have this endpoint");
    const issues = describeEngineRefusal(422, '{"detail":[{"type":"missing","loc":["body","prompt"],"msg":"Field required","input":{}}]}');
    assert.equal(issues.message, "the engine refused the request: body.prompt: Field required");
    assert.equal(describeEngineRefusal(400, '{"detail":"bad"}').message, "bad");
  });
});
