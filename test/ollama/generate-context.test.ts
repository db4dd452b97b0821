/**
 * Unit test of generate's `context` (its engine stubbed): the prompt is
 * rendered while the engine generates, so only the token count waits for the
 * reply's end, and the ids are those of the rendered prompt and the reply.
 * The end-to-end cases are in ollama-fields.e2e.test.ts.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { EnginesClient } from "../../src/ollama/engines-client.ts";
import { createGenerateContext } from "../../src/ollama/generate-context.ts";
import type { OllamaStreamLine } from "../../src/ollama/ollama-replies.ts";

function stubEngines(asked: string[]): EnginesClient {
  return {
    async post(path, body) {
      asked.push(path);
      if (path === "/apply-template") return Response.json({ prompt: "<user>Hi<assistant>" });
      if (path === "/tokenize") return Response.json({ tokens: [...String(body.content)].map((character) => character.charCodeAt(0)) });
      throw new Error(`unexpected ${path}`);
    },
    get: () => Promise.reject(new Error("unexpected")),
  };
}

const piece = (response: string, done = false) => ({ model: "tiny", created_at: "", response, done }) as OllamaStreamLine;

describe("generate's context", () => {
  test("the template is asked while the reply streams; the tokenizer after its end, on prompt and reply", async () => {
    const asked: string[] = [];
    const context = createGenerateContext(stubEngines(asked));
    const seenBeforeTheEnd: string[] = [];
    async function* reply() {
      yield piece("O");
      await new Promise((resolve) => setImmediate(resolve));
      yield piece("k");
      seenBeforeTheEnd.push(...asked);
      yield piece("", true);
    }
    const engine = { path: "/v1/chat/completions", body: { model: "tiny", messages: [{ role: "user", content: "Hi" }], stream: true } } as const;
    const lines: OllamaStreamLine[] = [];
    for await (const line of context.withContext(reply(), { engine, previous: [] }, AbortSignal.timeout(10_000))) lines.push(line);
    assert.deepEqual(seenBeforeTheEnd, ["/apply-template"]);
    assert.deepEqual(asked, ["/apply-template", "/tokenize"]);
    assert.deepEqual((lines.at(-1) as unknown as { context: number[] }).context, [..."<user>Hi<assistant>Ok"].map((character) => character.charCodeAt(0)));
  });

  test("a template that fails while the reply streams is reported on the final object, never unhandled", async () => {
    const failing: EnginesClient = { post: () => Promise.reject(new Error("no template")), get: () => Promise.reject(new Error("unexpected")) };
    async function* reply() {
      await new Promise((resolve) => setTimeout(resolve, 20));
      yield piece("", true);
    }
    const engine = { path: "/v1/chat/completions", body: { model: "tiny", messages: [] } } as const;
    const lines: OllamaStreamLine[] = [];
    for await (const line of createGenerateContext(failing).withContext(reply(), { engine, previous: [] }, AbortSignal.timeout(10_000))) lines.push(line);
    assert.deepEqual(lines, [{ error: "the reply's context could not be counted: no template" }]);
  });
});
