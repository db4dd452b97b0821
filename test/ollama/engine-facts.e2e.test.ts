/**
 * What the Ollama layer learns from the engines layer, end to end on the
 * gateway process with the real llama-server: load durations, model facts
 * and capabilities, the runners' real context, token accounting and the
 * runners' own metrics, embedding truncation. Tests run in order on one
 * gateway: the first one meets a cold runner.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import OpenAI from "openai";
import { parsePrometheusText } from "../../src/scheduling/prometheus-text.ts";
import { useGateway } from "../support/gateway.ts";

const served = useGateway();

const hello = [{ role: "user", content: "Hello" }];

/** Every sample of `/metrics`, as `name{label="value",…}` → value, labels sorted. */
async function scrape(): Promise<Map<string, number>> {
  const text = await (await fetch(`${served.gateway.url}/metrics`)).text();
  const samples = new Map<string, number>();
  for (const family of parsePrometheusText(text)) {
    for (const { name, labels, value } of family.samples) {
      const labelText = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}="${v}"`).join(",");
      samples.set(`${name}{${labelText}}`, value);
    }
  }
  return samples;
}

describe("engine facts through the Ollama API", () => {
  test("load_duration: positive when the request loaded the runner, about zero once warm; total_duration includes it", async () => {
    const cold = await served.ollama.chat({ model: "tiny", messages: hello, stream: false, options: { num_predict: 2 } });
    const warm = await served.ollama.chat({ model: "tiny", messages: hello, stream: false, options: { num_predict: 2 } });
    const ms = (ns: number) => (ns / 1e6).toFixed(3);
    console.log(`# load_duration cold ${ms(cold.load_duration)} ms (total ${ms(cold.total_duration)} ms), warm ${ms(warm.load_duration)} ms (total ${ms(warm.total_duration)} ms)`);
    assert.ok(cold.load_duration > 10e6, `a cold load takes more than 10 ms: ${cold.load_duration} ns`);
    assert.ok(cold.total_duration >= cold.load_duration);
    assert.ok(warm.load_duration < 1e6, `a warm runner loads nothing: ${warm.load_duration} ns`);

    const streamed = [];
    for await (const part of await served.ollama.generate({ model: "tiny", prompt: "Once", stream: true, options: { num_predict: 2 } })) streamed.push(part);
    assert.ok(streamed.at(-1)!.load_duration < 1e6);
    const embedCold = await served.ollama.embed({ model: "tiny-embed", input: "hello" });
    assert.ok(embedCold.load_duration > 10e6 && embedCold.total_duration >= embedCold.load_duration);
  });

  test("tags carry the engines' content digest; show carries capabilities and model_info", async () => {
    const digests = new Map(((await (await fetch(`${served.gateway.url}/v1/models`)).json()) as { data: Array<{ id: string; digest: string }> }).data.map((m) => [m.id, m.digest]));
    const { models } = await served.ollama.list();
    for (const model of models) assert.equal(`sha256:${model.digest}`, digests.get(model.name), model.name);

    const expected = {
      tiny: ["completion", "tools", "insert"],
      "tiny-tools": ["completion", "tools"],
      "tiny-draft": ["completion", "insert"],
      "tiny-embed": ["embedding"],
    };
    for (const [name, capabilities] of Object.entries(expected)) {
      const shown = await served.ollama.show({ model: name });
      assert.deepEqual(shown.capabilities, capabilities, name);
    }
    const tiny = await served.ollama.show({ model: "tiny" });
    assert.match(tiny.template, /tools/);
    assert.deepEqual(
      Object.fromEntries(Object.entries(tiny.model_info).filter(([key]) => /^(general\.(architecture|parameter_count)|llama\.(context|embedding)_length)$/.test(key))),
      { "general.architecture": "llama", "general.parameter_count": 19521856, "llama.context_length": 4096, "llama.embedding_length": 64 },
    );
    const embed = await served.ollama.show({ model: "tiny-embed" });
    assert.equal((embed.model_info as unknown as Record<string, unknown>)["bert.context_length"], 512);
  });

  test("ps: the runner's own context size (num_ctx honoured), memory, an RFC 3339 expiry", async () => {
    await served.ollama.chat({ model: "tiny-tools", messages: hello, stream: false, options: { num_predict: 1, num_ctx: 1024 } });
    const { models } = await served.ollama.ps();
    // ollama-js 0.6.4 does not type `context_length` yet; Ollama sends it.
    const byName = new Map(models.map((model) => [model.name, model as typeof model & { context_length: number }]));
    assert.equal(byName.get("tiny-tools:latest")?.context_length, 1024, "as configured through num_ctx");
    assert.equal(byName.get("tiny:latest")?.context_length, 4096, "llama-server's per-slot context, capped at the trained one");
    assert.equal(byName.get("tiny-embed:latest")?.context_length, 512);
    const runners = (await (await fetch(`${served.gateway.url}/engines/ps`)).json()) as Array<{ model_name: string; size: number; vram: number }>;
    for (const model of models) {
      const runner = runners.find((r) => r.model_name === model.name)!;
      assert.equal(model.size, runner.size + runner.vram);
      assert.equal(model.size_vram, runner.vram);
      assert.ok(model.size > 0);
      const expiresAt = model.expires_at as unknown as string;
      assert.match(expiresAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/);
      const inMs = Date.parse(expiresAt) - Date.now();
      assert.ok(inMs > 4 * 60_000 && inMs <= 5 * 60_000, `expires in about 5 minutes: ${inMs} ms`);
    }
  });

  test("metrics: tokens by origin and model, from Ollama and OpenAI requests alike, and the runners' own series", async () => {
    const before = await scrape();
    const chat = await served.ollama.chat({ model: "tiny", messages: hello, stream: true, options: { num_predict: 3 } });
    let final: { prompt_eval_count: number; eval_count: number } | undefined;
    for await (const part of chat) if (part.done) final = part;
    const openai = new OpenAI({ baseURL: `${served.gateway.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const direct = await openai.chat.completions.create({ model: "tiny", messages: [{ role: "user", content: "Hi there" }], max_tokens: 4 });
    const after = await scrape();

    const grew = (name: string, origin: string) => {
      const key = `${name}{mode="completion",model="tiny:latest",origin="${origin}"}`;
      return (after.get(key) ?? 0) - (before.get(key) ?? 0);
    };
    assert.equal(grew("modelgate_engine_prompt_tokens_total", "ollama/completion"), final!.prompt_eval_count);
    assert.equal(grew("modelgate_engine_completion_tokens_total", "ollama/completion"), 3);
    assert.equal(grew("modelgate_engine_prompt_tokens_total", "direct"), direct.usage!.prompt_tokens);
    assert.equal(grew("modelgate_engine_completion_tokens_total", "direct"), direct.usage!.completion_tokens);

    const engineTokens = after.get('llamacpp:tokens_predicted_total{mode="completion",model="tiny:latest"}');
    assert.ok(engineTokens !== undefined && engineTokens >= 7, `llama-server's own counter, relabelled: ${engineTokens}`);
    assert.ok(after.has('llamacpp:prompt_tokens_total{mode="embedding",model="tiny-embed:latest"}'));
  });

  test("embed: an input longer than the context is cut to fit by default, refused with truncate false", async () => {
    const long = Array.from({ length: 400 }, () => "hello world").join(" "); // ~800 tokens, the model takes 512
    const cut = await served.ollama.embed({ model: "tiny-embed", input: ["hello", long] });
    assert.equal(cut.embeddings.length, 2);
    assert.ok(Math.abs(Math.hypot(...cut.embeddings[1]!) - 1) < 1e-6);
    assert.ok(cut.prompt_eval_count <= 512 + 3, `at most a context's worth of tokens: ${cut.prompt_eval_count}`);

    await assert.rejects(served.ollama.embed({ model: "tiny-embed", input: ["hello", long], truncate: false }), (error: { status_code: number; error: string }) => {
      assert.equal(error.status_code, 400);
      assert.match(error.error, /input 1 exceeds the maximum context length: \d+ tokens, the model takes 512/);
      return true;
    });
    const short = await served.ollama.embed({ model: "tiny-embed", input: "hello", truncate: false });
    assert.equal(short.embeddings.length, 1);
  });
});
