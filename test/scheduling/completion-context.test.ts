/**
 * Fitting a completion to its runner's context, as Ollama does: the ported
 * cases of its server/prompt_test.go (`TestChatPrompt`,
 * `TestChatPromptTokenizeCalls`), routes_generate_test.go
 * (`TestChatHandlerChatTemplateRouteTruncatesMessages`) and
 * llm/llama_server_test.go (`TestContextShiftPromptLimit`,
 * `TestLlamaServerCompletionContextShiftTruncatesPromptOverContext`). The
 * runner is a stand-in speaking llama-server's `/apply-template` and
 * `/tokenize`, with Ollama's mock tokenizer: one token per word.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Agent } from "undici";
import { cutMiddle, fitCompletionContext, promptLimit, type CompletionRunner } from "../../src/scheduling/completion-context.ts";
import { ContextLengthExceededError } from "../../src/scheduling/context-length-error.ts";
import { truncateHistory } from "../../src/scheduling/history-truncation.ts";

interface Message {
  readonly role: string;
  readonly content: string;
}

/** Ollama's test template: each message's text and a space. */
const render = (messages: readonly Message[]) => messages.map((message) => `${message.content} `).join("");
/** Ollama's `mockRunner.Tokenize`. */
const words = (text: string) => text.split(/\s+/).filter(Boolean);
const fitsIn = (limit: number) => async (messages: readonly Message[]) => words(render(messages)).length <= limit;

const harry: Message[] = [
  { role: "user", content: "You're a test, Harry!" },
  { role: "assistant", content: "I-I'm a what?" },
  { role: "user", content: "A test. And a thumping good one at that, I'd wager." },
];

describe("truncateHistory (Ollama's chatPrompt)", () => {
  test("TestChatPrompt/messages: everything fits, nothing is dropped", async () => {
    const kept = await truncateHistory(harry, fitsIn(64));
    assert.equal(render(kept.messages), "You're a test, Harry! I-I'm a what? A test. And a thumping good one at that, I'd wager. ");
    assert.deepEqual([kept.dropped, kept.fits], [0, true]);
  });

  test("TestChatPrompt/truncate messages: the latest message always stays (and is reported too long)", async () => {
    const kept = await truncateHistory(harry, fitsIn(1));
    assert.equal(render(kept.messages), "A test. And a thumping good one at that, I'd wager. ");
    assert.deepEqual([kept.dropped, kept.fits], [2, false]);
  });

  test("TestChatPrompt/message with system prompt and out of order system: kept in place when all fits", async () => {
    const system = { role: "system", content: "You are the Test Who Lived." };
    const first = await truncateHistory([system, ...harry], fitsIn(2048));
    assert.equal(render(first.messages), "You are the Test Who Lived. You're a test, Harry! I-I'm a what? A test. And a thumping good one at that, I'd wager. ");
    const outOfOrder = [harry[0]!, harry[1]!, system, harry[2]!];
    assert.equal(
      render((await truncateHistory(outOfOrder, fitsIn(2048))).messages),
      "You're a test, Harry! I-I'm a what? You are the Test Who Lived. A test. And a thumping good one at that, I'd wager. ",
    );
  });

  test("the system messages of the dropped part stay, before the kept ones", async () => {
    const system = { role: "system", content: "sys" };
    const kept = await truncateHistory([harry[0]!, system, harry[1]!, harry[2]!], fitsIn(12));
    assert.deepEqual(kept.messages, [system, harry[2]]);
    assert.deepEqual([kept.dropped, kept.fits], [2, true]);
  });

  test("TestChatPromptTokenizeCalls: one count when all fits, few when cutting to the last message", async () => {
    const five = ["message 1", "response 1", "message 2", "response 2", "message 3"].map((content, index) => ({
      role: index % 2 ? "assistant" : "user",
      content,
    }));
    for (const [limit, maxCounts, expected] of [[2048, 1, 5], [5, 5, 2]] as const) {
      let counts = 0;
      const kept = await truncateHistory(five, async (messages) => {
        counts += 1;
        return fitsIn(limit)(messages);
      });
      assert.equal(kept.messages.length, expected);
      assert.ok(counts <= maxCounts, `counted ${counts} times, at most ${maxCounts}`);
    }
  });

  test("a long history is searched, not walked: 80 messages take a handful of counts", async () => {
    const long = Array.from({ length: 80 }, (_, index) => ({ role: index % 2 ? "assistant" : "user", content: `turn ${index} says a few words` }));
    let counts = 0;
    const kept = await truncateHistory(long, async (messages) => {
      counts += 1;
      return fitsIn(60)(messages);
    });
    assert.equal(kept.messages.length, 10, "the most recent 10 messages of 6 words each");
    assert.ok(counts <= 8, `counted ${counts} times`);
  });
});

describe("promptLimit and cutMiddle (Ollama's context-shift prompt cut)", () => {
  test("TestContextShiftPromptLimit", () => {
    const cases = [
      ["small context reserves half after keep", 8, 3, 6],
      ["issue 16618 context preserves generation headroom", 4096, 4, 2050],
      ["issue 16618 with implicit BOS keep", 4096, 5, 2051],
      ["keep is clamped below context", 8, 99, 7],
      ["negative keep is treated as zero", 8, -1, 4],
      ["invalid context has no prompt budget", 1, 0, 0],
    ] as const;
    for (const [name, numCtx, numKeep, want] of cases) assert.equal(promptLimit(numCtx, numKeep), want, name);
  });

  test("the kept head, then the tail", () => {
    assert.deepEqual(cutMiddle([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 3, 8), [0, 1, 2, 7, 8, 9]);
  });
});

describe("fitCompletionContext against a stand-in runner", () => {
  let home: string;
  let server: Server;
  let dispatcher: Agent;
  const seen: string[] = [];

  before(async () => {
    home = await mkdtemp(join(tmpdir(), "modelgate-fit-"));
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as { messages?: Message[]; content?: string };
        seen.push(request.url ?? "");
        // As the routes test's template: each message's role and text.
        if (request.url === "/apply-template") {
          const prompt = body.messages!.map((message) => `${message.role} ${message.content} `).join("");
          response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ prompt }));
        } else if (request.url === "/tokenize") {
          response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ tokens: words(body.content!).map((_, index) => index) }));
        } else {
          response.writeHead(404).end();
        }
      });
    });
    const socket = join(home, "runner.sock");
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    dispatcher = new Agent({ connect: { socketPath: socket } });
  });

  after(async () => {
    await dispatcher.close();
    await new Promise((resolve) => server.close(resolve));
    await rm(home, { recursive: true, force: true });
  });

  const runner = (contextSize: number, shift = true): CompletionRunner => ({
    contextSize,
    dispatcher,
    model: {},
    ...(shift ? {} : { config: { llamacpp: { "context-shift": false } } }),
  });
  const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
  const decode = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
  const history = [
    { role: "system", content: "sys" },
    { role: "user", content: "old one two three four" },
    { role: "assistant", content: "old answer one two" },
    { role: "user", content: "new ask" },
  ];
  const chat = { model: "m", stream: true, truncate: true, messages: history };
  const signal = new AbortController().signal;

  test("TestChatHandlerChatTemplateRouteTruncatesMessages: the system message and the latest one are sent", async () => {
    const fitted = decode(await fitCompletionContext("/v1/chat/completions", encode(chat), true, runner(6), signal));
    assert.deepEqual(fitted.messages, [history[0], history[3]]);
    assert.equal(fitted.model, "m", "the rest of the request is left as it was");
    // "system sys user new ask" is 5 tokens: Ollama sends it into a context of 5, which llama-server refuses.
    await assert.rejects(fitCompletionContext("/v1/chat/completions", encode(chat), true, runner(5), signal), ContextLengthExceededError);
  });

  test("TestChatPrompt/no truncate with limit exceeded: refused before the engine, with the counts", async () => {
    await assert.rejects(fitCompletionContext("/v1/chat/completions", encode(chat), false, runner(10), signal), (error: unknown) => {
      assert.ok(error instanceof ContextLengthExceededError);
      assert.equal(error.message, "the prompt takes 16 tokens and the model's context holds 10");
      return true;
    });
  });

  test("a chat that fits is sent untouched, after one look at its template and no tokenizing", async () => {
    seen.length = 0;
    const body = encode(chat);
    assert.equal(await fitCompletionContext("/v1/chat/completions", body, true, runner(4096), signal), body);
    assert.deepEqual(seen, ["/apply-template"]);
  });

  test("TestLlamaServerCompletionContextShiftTruncatesPromptOverContext: the head and the tail, as token ids", async () => {
    const prompt = { model: "m", prompt: "t0 t1 t2 t3 t4 t5 t6 t7 t8 t9", n_keep: 3, truncate: true };
    const fitted = decode(await fitCompletionContext("/v1/completions", encode(prompt), true, runner(8), signal));
    assert.deepEqual(fitted.prompt, [0, 1, 2, 7, 8, 9]);
    assert.equal(fitted.n_keep, 3);
  });

  test("a prompt too long is refused when it may not be cut, or the runner does not shift", async () => {
    const prompt = encode({ model: "m", prompt: "t0 t1 t2 t3 t4 t5 t6 t7 t8 t9" });
    await assert.rejects(fitCompletionContext("/v1/completions", prompt, false, runner(8), signal), ContextLengthExceededError);
    await assert.rejects(fitCompletionContext("/v1/completions", prompt, true, runner(8, false), signal), ContextLengthExceededError);
  });

  test("an engine without /apply-template (vLLM) is left to judge the chat itself", async () => {
    const body = encode(chat);
    const elsewhere = new Agent({ connect: { socketPath: join(home, "runner.sock") } });
    const noTemplate: CompletionRunner = { contextSize: 4, dispatcher: elsewhere, model: {} };
    server.prependOnceListener("request", (request) => void (request.url = "/missing"));
    assert.equal(await fitCompletionContext("/v1/chat/completions", body, true, noTemplate, signal), body);
    await elsewhere.close();
  });
});
