import assert from "node:assert/strict";
import { it } from "node:test";
import * as inference from "../../src/inference/index.ts";

it("exports the seed's constants with their values", () => {
  assert.equal(inference.ExperimentalEndpointsPrefix, "/exp/vDD4.40");
  assert.equal(inference.InferencePrefix, "/engines");
  assert.equal(inference.ModelsPrefix, "/models");
  assert.equal(inference.RequestOriginHeader, "X-Request-Origin");
  assert.equal(inference.OriginOllamaCompletion, "ollama/completion");
  assert.equal(inference.OriginAnthropicMessages, "anthropic/messages");
  assert.equal(inference.OriginOpenAIResponses, "openai/responses");
});
