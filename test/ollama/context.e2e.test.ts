/**
 * Ollama's context semantics through the real gateway and llama-server, with
 * ollama-js and raw HTTP: a history longer than the context is truncated
 * (`truncate`, default true), or refused in Ollama's words; `shift`; a
 * request's `num_ctx` and load-time options choose its runner and leave the
 * next request's alone. Ollama's references: server/prompt.go (`chatPrompt`),
 * server/sched.go (`needsReload`, `resolveContextShift`), llm/llama_server.go.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ChatResponse, Message } from "ollama";
import { useGateway } from "../support/gateway.ts";

const served = useGateway();

const promptTooLong =
  "the prompt is longer than the context length currently available to the model; shorten the prompt, adjust the context length in settings, or use a model with a longer context length";

/** A system prompt, then 40 turns of a user and an answer, then the question: far beyond 256 tokens. */
function longConversation(): Message[] {
  const turns = Array.from({ length: 40 }, (_, turn) => [
    { role: "user", content: `Turn ${turn}: tell me something about the number ${turn} and the weather on that day, in a few words.` },
    { role: "assistant", content: `On day ${turn} the sky was grey, the wind came from the west and ${turn} birds sang on the roof.` },
  ]).flat();
  return [{ role: "system", content: "You are a terse assistant." }, ...turns, { role: "user", content: "And what did I ask first?" }];
}

interface RunningModel {
  readonly name: string;
  readonly context_length: number;
}

async function runningSizes(model: string): Promise<number[]> {
  const { models } = (await (await fetch(`${served.gateway.url}/api/ps`)).json()) as { models: RunningModel[] };
  return models.filter((running) => running.name === model).map((running) => running.context_length).sort((a, b) => a - b);
}

/** ollama-js's error (its `ResponseError`, which the package does not export): Ollama's status and words. */
async function refusal(promise: Promise<unknown>): Promise<{ status_code: number; error: string }> {
  try {
    await promise;
  } catch (error) {
    const { status_code, error: message } = error as { status_code: number; error: string };
    return { status_code, error: message };
  }
  assert.fail("accepted");
}

/** The llama-server command lines the gateway logged, newest last. */
function engineArguments(): string[][] {
  return served.gateway.logs.filter((entry) => entry.msg === "starting llama-server").map((entry) => entry.args as string[]);
}

/** The context each slot of a runner gets: its `--ctx-size` is the total of its `--parallel` slots'. */
function slotContext(args: readonly string[]): number {
  const after = (flag: string) => Number(args[args.indexOf(flag) + 1]);
  return after("--ctx-size") / after("--parallel");
}

describe("context and truncation, as Ollama", () => {
  test("TestChatPrompt/truncate messages: a 40-turn chat far beyond num_ctx 256 streams an answer from its latest turns", async () => {
    const parts: ChatResponse[] = [];
    for await (const part of await served.ollama.chat({
      model: "tiny",
      messages: longConversation(),
      stream: true,
      options: { num_ctx: 256, num_predict: 4, temperature: 0 },
    })) {
      parts.push(part);
    }
    const final = parts.at(-1)!;
    assert.equal(final.done, true);
    assert.equal(final.done_reason, "length");
    assert.equal(final.eval_count, 4);
    assert.ok(parts.slice(0, -1).some((part) => part.message.content.length > 0));
    assert.ok(final.prompt_eval_count > 100 && final.prompt_eval_count < 256, `as much history as fits: ${final.prompt_eval_count} tokens`);
    assert.ok((await runningSizes("tiny:latest")).includes(256), "the runner has the context the request asked for");
  });

  test("a chat too long goes to the engine, is refused there and goes again cut: one request in /metrics, completed", async () => {
    const requests = async () => {
      const text = await (await fetch(`${served.gateway.url}/metrics`)).text();
      const counts: Record<string, number> = {};
      for (const [, outcome, value] of text.matchAll(/^modelgate_engine_requests_total\{[^}]*model="tiny:latest"[^}]*outcome="(\w+)"[^}]*\} (\d+)$/gm)) {
        counts[outcome!] = (counts[outcome!] ?? 0) + Number(value);
      }
      return counts;
    };
    const before = await requests();
    const reply = await served.ollama.chat({ model: "tiny", messages: longConversation(), stream: false, options: { num_ctx: 256, num_predict: 2 } });
    assert.equal(reply.done, true);
    const after = await requests();
    const added = Object.fromEntries(Object.entries(after).map(([outcome, value]) => [outcome, value - (before[outcome] ?? 0)]).filter(([, value]) => value !== 0));
    assert.deepEqual(added, { completed: 1 });
  });

  test("the same chat with truncate: false is a plain 400 in Ollama's words, streamed or not", async () => {
    for (const stream of [true, false]) {
      const response = await fetch(`${served.gateway.url}/api/chat`, {
        method: "POST",
        body: JSON.stringify({ model: "tiny", messages: longConversation(), stream, truncate: false, options: { num_ctx: 256 } }),
      });
      assert.equal(response.status, 400);
      assert.deepEqual(await response.json(), { error: promptTooLong });
    }
  });

  test("a latest chat message longer than the context alone is a 400 in Ollama's words", async () => {
    const huge = "weather ".repeat(400);
    const chat = await refusal(served.ollama.chat({ model: "tiny", messages: [{ role: "user", content: huge }], options: { num_ctx: 256 } }));
    assert.deepEqual([chat.status_code, chat.error], [400, promptTooLong]);
  });

  test("TestLlamaServerCompletionContextShiftTruncatesPromptOverContext: a templated generate prompt too long loses its middle; truncate: false refuses it", async () => {
    const huge = "weather ".repeat(1000);
    const options = { num_ctx: 512, num_predict: 2 };
    const cut = await served.ollama.generate({ model: "tiny", prompt: huge, stream: false, options });
    assert.equal(cut.done, true);
    assert.ok(cut.prompt_eval_count < 512, `cut to fit: ${cut.prompt_eval_count}`);
    assert.ok(cut.context.length > cut.prompt_eval_count, "the context holds the rendered prompt and the reply");
    const streamed = [];
    for await (const part of await served.ollama.generate({ model: "tiny", prompt: huge, stream: true, options })) streamed.push(part);
    assert.equal(streamed.at(-1)?.done, true);
    const refused = await refusal(served.ollama.generate({ model: "tiny", prompt: huge, stream: false, truncate: false, options } as never));
    assert.deepEqual([refused.status_code, refused.error], [400, promptTooLong]);
  });

  test("num_ctx is capped at the trained context (Ollama's llm/server.go) and padded as llama-server pads it: 320 and 384 reuse the 512 runner", async () => {
    const generate = (num_ctx: number) => served.ollama.generate({ model: "tiny", prompt: "Hi", stream: false, options: { num_ctx, num_predict: 1 } });
    await generate(512);
    const sizesStarted = () => engineArguments().map(slotContext);
    const before = sizesStarted().length;
    await generate(320);
    await generate(384);
    assert.deepEqual(sizesStarted().slice(before), [], "no runner started: the idle 512 one served both");
    const huge = await generate(100_000_000);
    assert.equal(huge.done, true);
    const started = sizesStarted().slice(before);
    assert.equal(started.length, 1);
    assert.ok(started[0]! < 100_000_000 && (await runningSizes("tiny:latest")).includes(started[0]!), `capped: ${started[0]}`);
  });

  test("a raw prompt too long loses its middle on a shifting runner, and is refused with shift: false", async () => {
    const huge = "weather ".repeat(400);
    const cut = await served.ollama.generate({ model: "tiny", prompt: huge, raw: true, stream: false, options: { num_ctx: 256, num_predict: 2 } });
    assert.equal(cut.done, true);
    assert.ok(cut.prompt_eval_count < 256, `cut to fit: ${cut.prompt_eval_count}`);
    const unshifted = { model: "tiny", prompt: huge, raw: true, stream: false, shift: false, options: { num_ctx: 256, num_predict: 2 } };
    const refused = await fetch(`${served.gateway.url}/api/generate`, { method: "POST", body: JSON.stringify(unshifted) });
    assert.equal(refused.status, 400);
    assert.deepEqual(await refused.json(), { error: promptTooLong });
  });

  test("shift: false stops generation at the context's end with done_reason length; by default the context shifts past it", async () => {
    const generate = async (extra: Record<string, unknown>) => {
      const body = { model: "tiny", prompt: "weather ".repeat(200), raw: true, stream: false, options: { num_ctx: 256, num_predict: 80, temperature: 0 }, ...extra };
      const response = await fetch(`${served.gateway.url}/api/generate`, { method: "POST", body: JSON.stringify(body) });
      assert.equal(response.status, 200);
      return (await response.json()) as { done_reason: string; prompt_eval_count: number; eval_count: number };
    };
    const stopped = await generate({ shift: false });
    assert.equal(stopped.done_reason, "length");
    assert.ok(stopped.eval_count < 80 && stopped.prompt_eval_count + stopped.eval_count <= 256, `within the context: ${JSON.stringify(stopped)}`);
    const shifted = await generate({});
    assert.equal(shifted.eval_count, 80, `past the context's end: ${JSON.stringify(shifted)}`);
    assert.ok(shifted.prompt_eval_count + shifted.eval_count > 256);
    const started = engineArguments().filter((args) => args.includes("--ctx-size") && slotContext(args) === 256);
    assert.ok(started.some((args) => args.includes("--no-context-shift")) && started.some((args) => args.includes("--context-shift")), "a runner each");
  });

  test("num_ctx applies to its request only: the next one, without it, gets the default context (the issue's 619-token prompt)", async () => {
    await served.ollama.chat({ model: "tiny-tools", messages: [{ role: "user", content: "Hi" }], options: { num_ctx: 512, num_predict: 1 } });
    const prompt = "weather ".repeat(600);
    const response = await fetch(`${served.gateway.url}/api/generate`, {
      method: "POST",
      body: JSON.stringify({ model: "tiny-tools", prompt, stream: false, truncate: false, options: { num_predict: 1 } }),
    });
    assert.equal(response.status, 200, await response.clone().text());
    const final = (await response.json()) as { prompt_eval_count: number };
    assert.ok(final.prompt_eval_count > 512, `the whole prompt: ${final.prompt_eval_count} tokens`);
    assert.deepEqual(await runningSizes("tiny-tools:latest"), [512, 4096], "/api/ps shows each runner's size");
    const configuration = (await (await fetch(`${served.gateway.url}/engines/_configure?model=tiny-tools`)).json()) as { stored: unknown };
    assert.equal(configuration.stored, null, "nothing written as the model's standing configuration");
  });

  test("load-time options start a runner with them: num_gpu, num_thread, num_batch, use_mmap", async () => {
    const options = { num_gpu: 0, num_thread: 1, num_batch: 64, use_mmap: false, num_predict: 1 };
    const answered = await served.ollama.generate({ model: "tiny", prompt: "Hi", stream: false, options });
    assert.equal(answered.done, true);
    const args = engineArguments().find((line) => line.includes("--threads"));
    assert.ok(args, JSON.stringify(engineArguments()));
    const after = (flag: string) => args[args.indexOf(flag) + 1];
    assert.deepEqual([after("--n-gpu-layers"), after("--threads"), after("--batch-size"), after("--ubatch-size"), after("--load-mode")], ["0", "1", "64", "64", "none"]);
  });

  test("an option of the wrong type is still refused in Ollama's words", async () => {
    const error = await refusal(served.ollama.generate({ model: "tiny", prompt: "Hi", options: { num_thread: "two" } as never }));
    assert.deepEqual([error.status_code, error.error], [400, 'option "num_thread" must be of type integer']);
  });
});
