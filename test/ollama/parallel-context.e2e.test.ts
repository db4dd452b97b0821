/**
 * Ollama gives each of a runner's parallel requests its own `num_ctx` of
 * context: server/sched.go loads a model with `num_ctx × OLLAMA_NUM_PARALLEL`
 * (`effectiveLlamaServerContext`) and llm/llama_server.go starts llama-server
 * with `-c num_ctx×parallel -np parallel`, one cache per slot. So concurrent
 * generations that each fill their context end as a lone one would: shifting
 * past it, or stopping at its end with `shift: false`. Ollama's own run of
 * this is integration/context_test.go's `runContextExhaustion`, concurrently
 * as integration/concurrency_test.go's `runConcurrentChat`.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { useGateway } from "../support/gateway.ts";

const served = useGateway();

interface Final {
  readonly done: boolean;
  readonly done_reason?: string;
  readonly prompt_eval_count: number;
  readonly eval_count: number;
  readonly error?: string;
}

const numCtx = 256;
/** Far beyond the context: each generation needs all of it, and more. */
const numPredict = 3 * numCtx;

/**
 * Streams one raw generation and notes, on the shared `events` list, when its
 * first token came and when it ended: the order shows both ran at once.
 */
async function generate(name: string, events: string[], extra: Record<string, unknown>): Promise<Final> {
  const body = { model: "tiny", prompt: "weather ".repeat(20), raw: true, stream: true, options: { num_ctx: numCtx, num_predict: numPredict, temperature: 0 }, ...extra };
  const response = await fetch(`${served.gateway.url}/api/generate`, { method: "POST", body: JSON.stringify(body) });
  if (response.status !== 200) assert.fail(`${name}: ${response.status} ${await response.text()}`);
  let last: Final | undefined;
  let buffered = "";
  const decoder = new TextDecoder();
  for await (const chunk of response.body!) {
    buffered += decoder.decode(chunk, { stream: true });
    const lines = buffered.split("\n");
    buffered = lines.pop()!;
    for (const line of lines.filter(Boolean)) {
      if (!last) events.push(`${name} started`);
      last = JSON.parse(line) as Final;
    }
  }
  events.push(`${name} ended`);
  assert.ok(last, `${name}: no reply`);
  return last;
}

/** Two generations at once on one runner; each one's last line, once both are in the engine together. */
async function twoAtOnce(extra: Record<string, unknown>): Promise<Final[]> {
  const events: string[] = [];
  const finals = await Promise.all([generate("first", events, extra), generate("second", events, extra)]);
  const lastStart = Math.max(events.indexOf("first started"), events.indexOf("second started"));
  const firstEnd = Math.min(events.indexOf("first ended"), events.indexOf("second ended"));
  assert.ok(lastStart < firstEnd, `both generated at once: ${events.join(", ")}`);
  return finals;
}

describe("parallel requests each get their own num_ctx, as Ollama loads num_ctx × parallel", () => {
  test("runContextExhaustion, concurrently: two generations far past num_ctx 256 on one runner both shift and reach num_predict", async () => {
    for (const final of await twoAtOnce({})) {
      assert.equal(final.error, undefined, JSON.stringify(final));
      assert.equal(final.done, true, JSON.stringify(final));
      assert.equal(final.done_reason, "length");
      assert.equal(final.eval_count, numPredict, `past its own context's end: ${JSON.stringify(final)}`);
    }
  });

  test("runContextExhaustion, concurrently, with shift: false: each stops with done_reason length at the end of its own num_ctx", async () => {
    for (const final of await twoAtOnce({ shift: false })) {
      assert.equal(final.error, undefined, JSON.stringify(final));
      assert.equal(final.done_reason, "length", JSON.stringify(final));
      const used = final.prompt_eval_count + final.eval_count;
      assert.equal(used, numCtx, `the whole of its own context: ${JSON.stringify(final)}`);
    }
  });

  test("/api/ps reports the context a request gets, not the runner's total", async () => {
    const { models } = (await (await fetch(`${served.gateway.url}/api/ps`)).json()) as { models: Array<{ name: string; context_length: number }> };
    const sizes = models.filter((model) => model.name === "tiny:latest").map((model) => model.context_length);
    assert.ok(sizes.length > 0 && sizes.every((size) => size === numCtx), JSON.stringify(models));
  });
});
