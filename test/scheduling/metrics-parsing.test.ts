import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parsePrometheusText } from "../../src/scheduling/prometheus-text.ts";
import { exportedName } from "../../src/scheduling/runner-metrics.ts";
import { createUsageTap } from "../../src/scheduling/usage-tap.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

describe("Prometheus text", () => {
  it("reads families with help, type, labels, escapes and special values", () => {
    const text = [
      "# HELP llamacpp:prompt_tokens_total Number of prompt tokens processed",
      "# TYPE llamacpp:prompt_tokens_total counter",
      "llamacpp:prompt_tokens_total 42",
      "# HELP vllm:latency Latency",
      "# TYPE vllm:latency histogram",
      'vllm:latency_bucket{le="0.1",model_name="a \\"b\\""} 3',
      'vllm:latency_bucket{le="+Inf",model_name="a \\"b\\""} 5',
      'vllm:latency_sum{model_name="a \\"b\\""} 1.5e-1',
      "untyped_thing NaN 1700000000",
      "not a sample line",
      "",
    ].join("\n");
    assert.deepEqual(parsePrometheusText(text), [
      { name: "llamacpp:prompt_tokens_total", help: "Number of prompt tokens processed", type: "counter", samples: [{ name: "llamacpp:prompt_tokens_total", labels: {}, value: 42 }] },
      {
        name: "vllm:latency", help: "Latency", type: "histogram",
        samples: [
          { name: "vllm:latency_bucket", labels: { le: "0.1", model_name: 'a "b"' }, value: 3 },
          { name: "vllm:latency_bucket", labels: { le: "+Inf", model_name: 'a "b"' }, value: 5 },
          { name: "vllm:latency_sum", labels: { model_name: 'a "b"' }, value: 0.15 },
        ],
      },
      { name: "untyped_thing", help: "", type: "untyped", samples: [{ name: "untyped_thing", labels: {}, value: NaN }] },
    ]);
  });

  it("keeps an engine's namespace and gives un-namespaced names the backend's", () => {
    assert.equal(exportedName("llamacpp:n_decode_total", "llama.cpp"), "llamacpp:n_decode_total");
    assert.equal(exportedName("process_cpu_seconds_total", "llama.cpp"), "llama_cpp:process_cpu_seconds_total");
  });
});

describe("the usage tap", () => {
  it("takes usage over timings from an event stream cut anywhere", () => {
    const tap = createUsageTap("text/event-stream");
    const stream = [
      'data: {"choices":[{"delta":{"content":"Hi"}}]}\n\n',
      'data: {"choices":[{"delta":{},"finish_reason":"stop"}],"timings":{"prompt_n":3,"cache_n":2,"prompt_ms":1,"predicted_n":7,"predicted_ms":2}}\n\n',
      'data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}\n\n',
      "data: [DONE]\n\n",
    ].join("");
    for (let i = 0; i < stream.length; i += 13) tap.push(bytes(stream.slice(i, i + 13)));
    assert.deepEqual(tap.usage(), { promptTokens: 5, completionTokens: 7 });
  });

  it("falls back to llama-server's timings, cached prompt tokens included", () => {
    const tap = createUsageTap("text/event-stream");
    tap.push(bytes('data: {"choices":[{"finish_reason":"length"}],"timings":{"prompt_n":3,"cache_n":2,"prompt_ms":1,"predicted_n":7,"predicted_ms":2}}\n\n'));
    assert.deepEqual(tap.usage(), { promptTokens: 5, completionTokens: 7 });
  });

  it("reads Anthropic's usage: input (cached included) from message_start, output from message_delta", () => {
    const tap = createUsageTap("text/event-stream");
    tap.push(bytes('event: message_start\ndata: {"type":"message_start","message":{"usage":{"cache_read_input_tokens":19,"input_tokens":1,"output_tokens":0}}}\n\n'));
    tap.push(bytes('event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":5}}\n\n'));
    assert.deepEqual(tap.usage(), { promptTokens: 20, completionTokens: 5 });
    const whole = createUsageTap("application/json");
    whole.push(bytes('{"type":"message","usage":{"cache_read_input_tokens":0,"input_tokens":20,"output_tokens":10}}'));
    assert.deepEqual(whole.usage(), { promptTokens: 20, completionTokens: 10 });
  });

  it("reads a JSON body at its end; embeddings have no completion tokens", () => {
    const tap = createUsageTap("application/json; charset=utf-8");
    const body = '{"data":[{"embedding":[0.1]}],"usage":{"prompt_tokens":4,"total_tokens":4}}';
    tap.push(bytes(body.slice(0, 10)));
    tap.push(bytes(body.slice(10)));
    assert.deepEqual(tap.usage(), { promptTokens: 4, completionTokens: 0 });
  });

  it("says nothing of a body that carries no counts", () => {
    const tap = createUsageTap("text/plain");
    tap.push(bytes("hello"));
    assert.equal(tap.usage(), undefined);
    assert.equal(createUsageTap("application/json").usage(), undefined);
  });
});
