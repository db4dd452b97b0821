import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { describeEngineRefusal } from "../../src/scheduling/engine-refusal.ts";

describe("describeEngineRefusal", () => {
  it("reads vLLM's nested error with an integer code (0.10.1+, vllm/entrypoints/openai/protocol.py ErrorResponse) and its older flat one", () => {
    const nested = describeEngineRefusal(400, '{"error":{"message":"too long","type":"BadRequestError","param":null,"code":400}}');
    assert.deepEqual(nested, { status: 400, message: "too long", type: "invalid_request_error", code: null });
    const flat = describeEngineRefusal(404, '{"object":"error","message":"The model `x` does not exist.","type":"NotFoundError","param":null,"code":404}');
    assert.deepEqual(flat, { status: 404, message: "The model `x` does not exist.", type: "not_found_error", code: null });
  });

  it("reads FastAPI's detail: a route the engine lacks is not a missing model, pydantic's issues are listed without their JSON", () => {
    assert.equal(describeEngineRefusal(404, '{"detail":"Not Found"}').message, "the engine serving this model does not have this endpoint");
    const issues = describeEngineRefusal(422, '{"detail":[{"type":"missing","loc":["body","prompt"],"msg":"Field required","input":{}}]}');
    assert.equal(issues.message, "the engine refused the request: body.prompt: Field required");
    assert.equal(describeEngineRefusal(400, '{"detail":"bad"}').message, "bad");
  });
});
