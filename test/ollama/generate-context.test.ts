/**
 * Unit test of generate's `context` (its engines stubbed): the prompt is
 * rendered while the engine generates, so only the token count waits for the
 * reply's end, and the ids are those of the rendered prompt and the reply.
 * The end-to-end cases are in ollama-fields.e2e.test.ts.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as v from "valibot";
import { createGenerateContext } from "../../src/ollama/generate-context.ts";
import type { OllamaEngines } from "../../src/ollama/ollama-engines.ts";
import type { OllamaStreamLine } from "../../src/ollama/ollama-replies.ts";

const unexpected = () => Promise.reject(new Error("unexpected"));

function stubEngines(asked: string[], answer: (path: string, body: Readonly<Record<string, unknown>>) => Promise<unknown>): OllamaEngines {
  return {
    async json(path, body, schema) {
      asked.push(path);
      return { value: v.parse(schema, await answer(path, body)), loadDurationMs: 0 };
    },
    send: unexpected,
    model: unexpected,
    models: unexpected,
    runners: () => [],
    unload: unexpected,
  };
}

const piece = (response: string, done = false) => ({ model: "tiny", created_at: "", response, done }) as OllamaStreamLine;
const engine = { path: "/v1/chat/completions", body: { model: "tiny", messages: [{ role: "user", content: "Hi" }], stream: true } } as const;

describe("generate's context", () => {
  test("the template is asked as the reply starts; the tokenizer after its end, on prompt and reply", async () => {
    const asked: string[] = [];
    const codes = (text: string) => [...text].map((character) => character.charCodeAt(0));
    const engines = stubEngines(asked, async (path, body) =>
      path === "/apply-template" ? { prompt: "<user>Hi<assistant>" } : { tokens: codes(String(body.content)) },
    );
    const follower = createGenerateContext(engines).following({ engine, previous: [] }, AbortSignal.timeout(10_000));
    follower.see(piece("O"));
    follower.see(piece("k"));
    assert.deepEqual(asked, ["/apply-template"], "asked before the reply's end");
    const final = await follower.finish(piece("", true));
    assert.deepEqual(asked, ["/apply-template", "/tokenize"]);
    assert.deepEqual((final as { context?: number[] }).context, codes("<user>Hi<assistant>Ok"));
  });

  test("a template that fails while the reply streams is reported on the final object, never unhandled", async () => {
    const engines = stubEngines([], () => Promise.reject(new Error("no template")));
    const follower = createGenerateContext(engines).following({ engine, previous: [] }, AbortSignal.timeout(10_000));
    await new Promise((resolve) => setTimeout(resolve, 20)); // the rejection settles before anyone awaits it
    assert.deepEqual(await follower.finish(piece("", true)), { error: "the reply's context could not be counted: no template" });
  });
});
