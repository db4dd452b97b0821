import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hasFillInTheMiddleTokens, modelCapabilities } from "../../src/models/capabilities.ts";

const chatml = "{% for message in messages %}<|im_start|>{{ message.role }}\n{{ message.content }}<|im_end|>\n{% endfor %}";
const withTools = `{%- if tools %}{{ tools | tojson }}{%- endif %}${chatml}`;
const qwen3 = `${withTools}{%- if enable_thinking is defined and enable_thinking is false %}<think>\n\n</think>{%- endif %}`;

describe("model capabilities", () => {
  it("an encoder or a pooling model embeds and does nothing else", () => {
    assert.deepEqual(modelCapabilities({ architecture: "bert", poolingType: 1 }), ["embedding"]);
    assert.deepEqual(modelCapabilities({ architecture: "nomic-bert" }), ["embedding"]);
    assert.deepEqual(modelCapabilities({ architecture: "qwen3", poolingType: 3, chatTemplate: withTools }), ["embedding"]);
  });

  it("a decoder completes; pooling type 0 (none) does not make it an embedder", () => {
    assert.deepEqual(modelCapabilities({ architecture: "llama" }), ["completion"]);
    assert.deepEqual(modelCapabilities({ architecture: "llama", poolingType: 0, chatTemplate: chatml }), ["completion"]);
  });

  it("reads tools and thinking off the chat template", () => {
    assert.deepEqual(modelCapabilities({ architecture: "llama", chatTemplate: withTools }), ["completion", "tools"]);
    assert.deepEqual(modelCapabilities({ architecture: "qwen3", chatTemplate: qwen3 }), ["completion", "tools", "thinking"]);
    const deepseek = "{% if message.reasoning_content %}{{ message.reasoning_content }}{% endif %}";
    assert.deepEqual(modelCapabilities({ architecture: "deepseek2", chatTemplate: deepseek }), ["completion", "thinking"]);
  });

  it("insert from fill-in-the-middle tokens or a template that takes a suffix; vision from a projector", () => {
    assert.deepEqual(modelCapabilities({ architecture: "qwen2", fillInTheMiddle: true }), ["completion", "insert"]);
    assert.deepEqual(modelCapabilities({ architecture: "starcoder2", chatTemplate: "{{ prompt }}<fim_suffix>{{ suffix }}" }), ["completion", "insert"]);
    assert.deepEqual(modelCapabilities({ architecture: "gemma3", chatTemplate: chatml, projector: true }), ["completion", "vision"]);
  });

  it("knows fill-in-the-middle tokens by their current and their older names", () => {
    const keys = (names: string[]) => new Set(names.map((name) => `tokenizer.ggml.${name}`));
    assert.equal(hasFillInTheMiddleTokens(keys(["fim_pre_token_id", "fim_suf_token_id", "fim_mid_token_id"])), true);
    assert.equal(hasFillInTheMiddleTokens(keys(["prefix_token_id", "suffix_token_id", "middle_token_id"])), true);
    assert.equal(hasFillInTheMiddleTokens(keys(["fim_pre_token_id", "fim_suf_token_id"])), false);
    assert.equal(hasFillInTheMiddleTokens(new Set()), false);
  });
});
