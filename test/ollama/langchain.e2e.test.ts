/**
 * LangChain JS (`@langchain/ollama`), the real client from npm, against the
 * gateway process (the Ollama layer in front of the real engines layer and
 * llama-server). LangChain sums counts over every chunk, so these tests
 * catch counts sent twice.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { AIMessageChunk } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { ChatOllama, OllamaEmbeddings } from "@langchain/ollama";
import { useGateway } from "../support/gateway.ts";

const served = useGateway();

const chat = (model: string, numPredict?: number) =>
  new ChatOllama({ baseUrl: served.gateway.url, model, temperature: 0, ...(numPredict ? { numPredict } : {}) });

describe("LangChain's ChatOllama and OllamaEmbeddings against the gateway", () => {
  test("invoke: the reply with usage metadata counted once", async () => {
    const message = await chat("tiny", 6).invoke("Hello");
    assert.equal(typeof message.content, "string");
    assert.ok((message.content as string).length > 0);
    assert.equal(message.usage_metadata?.output_tokens, 6);
    assert.ok((message.usage_metadata?.input_tokens ?? 0) > 0);
    assert.equal(message.usage_metadata?.total_tokens, message.usage_metadata!.input_tokens + 6);
    assert.equal(message.response_metadata.done_reason, "length");
  });

  test("stream: chunks concatenate to the reply; usage arrives once, on the end", async () => {
    let whole: AIMessageChunk | undefined;
    let chunks = 0;
    for await (const chunk of await chat("tiny", 5).stream("Hello")) {
      whole = whole ? whole.concat(chunk) : chunk;
      chunks += 1;
    }
    assert.ok(whole);
    assert.ok(chunks >= 5);
    assert.ok((whole.content as string).length > 0);
    assert.equal(whole.usage_metadata?.output_tokens, 5);
  });

  test("tool binding: the model's call comes back as a LangChain tool call with parsed arguments", async () => {
    const getWeather = tool(async ({ city }: { city: string }) => `sunny in ${city}`, {
      name: "get_weather",
      description: "The weather in a city",
      schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    });
    const message = await chat("tiny-tools").bindTools([getWeather]).invoke("What is the weather in Paris?");
    assert.equal(message.tool_calls?.length, 1);
    assert.equal(message.tool_calls![0]!.name, "get_weather");
    assert.deepEqual(message.tool_calls![0]!.args, { city: "Paris" });
  });

  test("structured output from a schema: the engine's constrained JSON parses into it", async () => {
    const schema = { type: "object", properties: { city: { type: "string", maxLength: 10 } }, required: ["city"] };
    const result = (await chat("tiny", 64).withStructuredOutput(schema).invoke("Name a city.")) as { city: unknown };
    assert.equal(typeof result.city, "string");
    assert.ok((result.city as string).length <= 10);
  });

  test("OllamaEmbeddings: documents and a query, unit length", async () => {
    const embeddings = new OllamaEmbeddings({ baseUrl: served.gateway.url, model: "tiny-embed" });
    const documents = await embeddings.embedDocuments(["hello", "world"]);
    assert.equal(documents.length, 2);
    const query = await embeddings.embedQuery("hello");
    assert.deepEqual(query, documents[0]);
    assert.ok(Math.abs(Math.hypot(...query) - 1) < 1e-6);
  });
});
