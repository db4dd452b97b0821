/**
 * Open WebUI, replayed from its source (open-webui/open-webui): the backend's
 * Ollama router `backend/open_webui/routers/ollama.py`, its payload and
 * response conversions (`utils/payload.py`, `utils/response.py`) and the
 * frontend's `src/lib/apis/ollama/index.ts` as the admin pages drive it. Each
 * request is the one the cited function sends, read the way its library reads
 * it (aiohttp's content-type check, StreamReader lines, requests, urllib3:
 * ./support/python-http.ts). Against the real gateway, llama-server and a
 * loopback registry serving an Ollama-layout model.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { ensureFixtureModels, fixtureToolCall } from "../../fixtures/generate.ts";
import { startGateway, type GatewayProcess } from "../support/gateway.ts";
import { startRegistry, type TestRegistry } from "../support/registry.ts";
import { fimParams, pushFimModel } from "./support/fim-model.ts";
import { aiohttpJson, aiohttpLines, pythonJsonLoads, requestsJson, urllib3Post } from "./support/python-http.ts";

/** The HTTPException Open WebUI raises to its own client: a status and a detail. */
class HTTPException extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
  ) {
    super(`${status}: ${detail}`);
  }
}

type Json = Record<string, any>;

describe("Open WebUI, replayed (backend/open_webui/routers/ollama.py)", () => {
  let registry: TestRegistry;
  let gateway: GatewayProcess;
  let url: string;
  let coder: string;
  let firstManifest: string;

  before(async () => {
    registry = await startRegistry();
    gateway = await startGateway();
    url = gateway.url;
    coder = `${registry.host}/library/coder:fim`;
    firstManifest = await pushFimModel(registry.url, "fim");
  });

  after(async () => {
    await gateway?.stop();
    await registry?.stop();
  });

  /** `send_get_request`: aiohttp GET with a JSON content type; any failure (a refused content type too) is logged and `None`. */
  const sendGetRequest = async (path: string): Promise<Json | null> => {
    try {
      return (await aiohttpJson(await fetch(`${url}${path}`, { headers: { "Content-Type": "application/json" } }))) as Json;
    } catch {
      return null;
    }
  };

  /**
   * `send_post_request`: aiohttp POST. Not ok: the error body through `.json()`,
   * its `error` as the detail (a body `.json()` refuses: "Server Connection Error").
   * Streamed: the body's lines, relayed under `content_type`; else `.json()`.
   */
  const sendPostRequest = async (path: string, payload: object, stream = true): Promise<Json | AsyncGenerator<string>> => {
    const response = await fetch(`${url}${path}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload) });
    if (!response.ok) {
      let body: unknown;
      try {
        body = await aiohttpJson(response);
      } catch {
        throw new HTTPException(response.status, "Open WebUI: Server Connection Error");
      }
      if (body && typeof body === "object" && "error" in body) throw new HTTPException(response.status, String((body as Json).error));
      throw new HTTPException(response.status, `Ollama: ${response.status}`);
    }
    if (stream) return aiohttpLines(response);
    try {
      return (await aiohttpJson(response)) as Json;
    } catch (error) {
      throw new HTTPException(response.status, `Ollama: ${(error as Error).message}`);
    }
  };

  /** `requests.request(...)` then `raise_for_status()` and `r.json()`; on failure the detail `Ollama: <error>`. */
  const requestsCall = async (method: string, path: string, payload: object): Promise<Response> => {
    const response = await fetch(`${url}${path}`, { method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload) });
    if (!response.ok) {
      const body = (await requestsJson(response).catch(() => ({}))) as Json;
      throw new HTTPException(response.status, "error" in body ? `Ollama: ${body.error}` : "Open WebUI: Server Connection Error");
    }
    return response;
  };

  /** `convert_streaming_response_ollama_to_openai` (utils/response.py): `json.loads` per line, OpenAI chunks, usage on the done one. */
  const toOpenAIChunks = async (lines: AsyncGenerator<string>) => {
    const chunks: Json[] = [];
    for await (const line of lines) {
      const data = pythonJsonLoads(line) as Json;
      const toolCalls = data.message?.tool_calls as Json[] | undefined;
      chunks.push({
        model: data.model ?? "ollama",
        content: data.message?.content ?? null,
        tool_calls: toolCalls?.map((call) => ({
          index: call.index ?? 0,
          id: call.id ?? "call_generated",
          type: "function",
          // json.dumps of whatever came: a string would be encoded twice and never parse back to a dict.
          function: { name: call.function?.name ?? "", arguments: JSON.stringify(call.function?.arguments ?? {}) },
        })),
        usage: data.done ? convertOllamaUsageToOpenAI(data) : undefined,
      });
    }
    return chunks;
  };

  test("verify_connection: GET /api/version, status 200, read with aiohttp's .json()", async () => {
    const response = await fetch(`${url}/api/version`);
    assert.equal(response.status, 200);
    const data = (await aiohttpJson(response)) as Json;
    assert.equal(typeof data.version, "string");
  });

  test("get_ollama_versions: send_get_request /api/version; the lowest-version key parses every part as an int", async () => {
    const data = await sendGetRequest("/api/version");
    assert.ok(data);
    // tuple(map(int, re.sub(r"^v|-.*", "", version).split(".")))
    const parts = String(data.version).replace(/^v|-.*/s, "").split(".");
    assert.ok(parts.every((part) => /^\s*[+-]?\d+\s*$/.test(part)), data.version);
  });

  test("get_all_models: /api/tags and /api/ps through send_get_request; expires_at parses with datetime.fromisoformat", async () => {
    await sendPostRequest("/api/generate", { model: "tiny:latest", prompt: "" }, false);
    const tags = await sendGetRequest("/api/tags");
    assert.ok(tags, "send_get_request gave None: the tags were not read");
    const ids = (tags.models as Json[]).map((model) => model.model);
    assert.ok(ids.includes("tiny:latest"), JSON.stringify(ids));
    const loaded = await sendGetRequest("/api/ps");
    assert.ok(loaded);
    const expiresAt = (loaded.models as Json[]).find((model) => model.model === "tiny:latest")?.expires_at;
    assert.match(String(expiresAt), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/, "an ISO date Python 3.11's fromisoformat reads");
  });

  test("show_model_info: requests POST /api/show {model}, r.json()", async () => {
    const shown = (await requestsJson(await requestsCall("POST", "/api/show", { model: "tiny:latest" }))) as Json;
    assert.ok(Array.isArray(shown.capabilities));
    assert.equal(typeof shown.model_info, "object");
  });

  test("generate_chat_completion, streamed: convert_payload_openai_to_ollama's body, every NDJSON line json.loads, usage on the last", async () => {
    // What the chat page's OpenAI-style payload becomes; options from the model's params (max_tokens → num_predict).
    const payload = {
      model: "tiny:latest",
      messages: [
        { role: "system", content: "You are a helpful assistant." },
        { role: "user", content: "Why is the sky blue?" },
      ],
      stream: true,
      options: { num_predict: 8, temperature: 0.8 },
    };
    const chunks = await toOpenAIChunks((await sendPostRequest("/api/chat", payload)) as AsyncGenerator<string>);
    assert.ok(chunks.length > 1);
    assert.ok(chunks.slice(0, -1).map((chunk) => chunk.content).join("").length > 0);
    const usage = chunks.at(-1)!.usage;
    assert.ok(usage, "the done line carries the counts");
    assert.equal(usage.completion_tokens, 8);
    assert.ok(usage.prompt_tokens > 0);
    assert.notEqual(usage["response_token/s"], "N/A");
  });

  test("title and follow-up generation (routers/tasks.py): stream false, read with aiohttp's .json(), convert_response_ollama_to_openai", async () => {
    for (const task of ["Generate a concise, 3-5 word title with an emoji summarizing the chat history.", "Suggest 3-5 relevant follow-up questions."]) {
      const reply = (await sendPostRequest(
        "/api/chat",
        { model: "tiny:latest", messages: [{ role: "user", content: `### Task:\n${task}\n### Chat History:\n<chat_history>\nUSER: Why is the sky blue?\n</chat_history>` }], stream: false, options: { num_predict: 6 } },
        false,
      )) as Json;
      assert.equal(reply.done, true);
      assert.equal(typeof reply.message.content, "string");
      assert.ok(reply.message.content.length > 0);
      assert.equal(convertOllamaUsageToOpenAI(reply).completion_tokens, 6);
    }
  });

  test("native tool calling: tools in the body, the call converted (arguments an object json.dumps once), then the follow-up with the tool's result", async () => {
    const tools = [{ type: "function", function: { name: fixtureToolCall.name, description: "The weather in a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } }];
    const question = { role: "user", content: "What is the weather in Paris?" };
    const chunks = await toOpenAIChunks((await sendPostRequest("/api/chat", { model: "tiny-tools:latest", messages: [question], stream: true, tools })) as AsyncGenerator<string>);
    const calls = chunks.flatMap((chunk) => chunk.tool_calls ?? []);
    assert.equal(calls.length, 1, JSON.stringify(chunks));
    assert.equal(calls[0].function.name, fixtureToolCall.name);
    assert.deepEqual(JSON.parse(calls[0].function.arguments), fixtureToolCall.arguments, "a dict after Open WebUI's json.loads");

    // convert_messages_openai_to_ollama: the call back with index, id and parsed arguments, content ""; the result with tool_call_id.
    const history = [
      question,
      { role: "assistant", tool_calls: [{ index: 0, id: calls[0].id, function: { name: calls[0].function.name, arguments: JSON.parse(calls[0].function.arguments) } }], content: "" },
      { role: "tool", content: '{"sky": "clear"}', tool_call_id: calls[0].id },
    ];
    const followUp = await toOpenAIChunks((await sendPostRequest("/api/chat", { model: "tiny-tools:latest", messages: history, stream: true, tools, options: { num_predict: 3 } })) as AsyncGenerator<string>);
    assert.ok(followUp.at(-1)!.usage);
  });

  test("embeddings for RAG: aiohttp POST /api/embed {input, model} (retrieval utils) and the router's embed via requests", async () => {
    const texts = ["Paris is the capital of France.", "The sky is blue."];
    const response = await fetch(`${url}/api/embed`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ input: texts, model: "tiny-embed:latest" }) });
    assert.equal(response.status, 200);
    const data = (await aiohttpJson(response)) as Json;
    assert.equal(data.embeddings.length, 2);
    const routed = (await requestsJson(await requestsCall("POST", "/api/embed", { model: "tiny-embed:latest", input: "The sky is blue." }))) as Json;
    assert.equal(routed.embeddings.length, 1);
  });

  /** The frontend's pull (pullModel → the router's pull_model, {name, model, insecure: true}): lines read until `success`, an `error` throws. */
  const pullWithProgress = async (name: string) => {
    const events: Json[] = [];
    for await (const line of (await sendPostRequest("/api/pull", { name, model: name, insecure: true })) as AsyncGenerator<string>) {
      const data = JSON.parse(line) as Json;
      if ("error" in data) throw new Error(data.error);
      if ("detail" in data) throw new Error(data.detail);
      events.push(data);
    }
    return events;
  };

  test("pull_model: streamed progress with digest, total and completed, ending in success", async () => {
    const events = await pullWithProgress(coder);
    assert.equal(events[0]!.status, "pulling manifest");
    const layers = events.filter((event) => event.digest);
    assert.ok(layers.length > 0 && layers.every((event) => typeof event.total === "number"), JSON.stringify(layers));
    assert.equal(events.at(-1)!.status, "success");
  });

  test("Update All Models (the frontend pulls each listed tag again): the tag moved in the registry; the re-pull lists the new manifest", async () => {
    const listedDigest = async () => `sha256:${((await sendGetRequest("/api/tags"))!.models as Json[]).find((model) => model.model === coder)?.digest}`;
    await pullWithProgress(coder);
    assert.equal(await listedDigest(), firstManifest, "the list shows the manifest's digest");
    const moved = await pushFimModel(registry.url, "fim", { ...fimParams, num_ctx: 1024 });
    await pullWithProgress(coder);
    assert.equal(await listedDigest(), moved);
  });

  test("create_model (admin's create from JSON): {model, from, system} streamed to success, listed", async () => {
    const lines = (await sendPostRequest("/api/create", { model: "pirate:latest", from: "tiny:latest", system: "You are a pirate." })) as AsyncGenerator<string>;
    const statuses: string[] = [];
    for await (const line of lines) statuses.push((JSON.parse(line) as Json).status);
    assert.equal(statuses.at(-1), "success");
    const tags = await sendGetRequest("/api/tags");
    assert.ok((tags!.models as Json[]).some((model) => model.model === "pirate:latest"));
  });

  test("create_model: the system prompt is kept and shown", async () => {
    const shown = (await requestsJson(await requestsCall("POST", "/api/show", { model: "pirate:latest" }))) as Json;
    assert.equal(shown.system, "You are a pirate.");
  });

  test("upload_model: requests.post the file to /api/blobs/sha256:… (urllib3, twice: the second finds the blob there), then /api/create {model, files}", async () => {
    const bytes = await readFile((await ensureFixtureModels()).tools);
    const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    for (let i = 0; i < 2; i++) {
      const uploaded = await urllib3Post(`${url}/api/blobs/${digest}`, bytes);
      assert.ok(uploaded.status >= 200 && uploaded.status < 400, `upload ${i}: ${uploaded.status} ${uploaded.text}`);
    }
    const created = await requestsCall("POST", "/api/create", { model: "uploaded", files: { "uploaded.gguf": digest } });
    await created.text();
    const tags = await sendGetRequest("/api/tags");
    assert.ok((tags!.models as Json[]).some((model) => model.model === "uploaded:latest"));
  });

  test("copy_model and delete_model: requests POST /api/copy, DELETE /api/delete {name, model}", async () => {
    await (await requestsCall("POST", "/api/copy", { source: "tiny:latest", destination: "tiny-copy:latest" })).text();
    await (await requestsCall("DELETE", "/api/delete", { name: "tiny-copy:latest", model: "tiny-copy:latest" })).text();
    const tags = await sendGetRequest("/api/tags");
    assert.equal((tags!.models as Json[]).some((model) => model.model === "tiny-copy:latest"), false);
  });

  test("unload_model: /api/generate {model, keep_alive: 0, prompt: \"\"} without stream, read with aiohttp's .json(): success, and the runner is gone", async () => {
    await sendPostRequest("/api/generate", { model: "tiny:latest", prompt: "" }, false);
    const reply = (await sendPostRequest("/api/generate", { model: "tiny:latest", keep_alive: 0, prompt: "" }, false)) as Json;
    assert.equal(reply.done_reason, "unload");
    const loaded = await sendGetRequest("/api/ps");
    assert.equal((loaded!.models as Json[]).some((model) => model.model === "tiny:latest"), false);
  });

  test("load without stream (Ollama's load answer, read the same way): /api/generate without prompt and /api/chat without messages", async () => {
    const generated = (await sendPostRequest("/api/generate", { model: "tiny:latest", prompt: "" }, false)) as Json;
    assert.equal(generated.done_reason, "load");
    const chatted = (await sendPostRequest("/api/chat", { model: "tiny:latest", messages: [] }, false)) as Json;
    assert.equal(chatted.done_reason, "load");
    assert.equal(chatted.message.role, "assistant");
  });

  test("errors: Ollama's words reach Open WebUI's user as the detail (send_post_request's .json() of the error, requests' r.json())", async () => {
    await assert.rejects(sendPostRequest("/api/chat", { model: "missing:latest", messages: [{ role: "user", content: "Hi" }], stream: true }), (error: HTTPException) => {
      assert.equal(error.status, 404);
      assert.equal(error.detail, 'model "missing:latest" not found, try pulling it first');
      return true;
    });
    await assert.rejects(requestsCall("POST", "/api/copy", { source: "missing:latest", destination: "other:latest" }), (error: HTTPException) => {
      assert.equal(error.status, 404);
      assert.match(error.detail, /^Ollama: .*missing/);
      return true;
    });
  });
});

/** `convert_ollama_usage_to_openai` (utils/response.py): `int()` of the counts, rates from the durations. */
function convertOllamaUsageToOpenAI(data: Json) {
  const int = (value: unknown) => {
    if (!Number.isInteger(value ?? 0)) throw new Error(`ValueError: int() of ${JSON.stringify(value)}`);
    return (value as number | undefined) ?? 0;
  };
  const promptTokens = int(data.prompt_eval_count);
  const completionTokens = int(data.eval_count);
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
    "response_token/s": (data.eval_duration ?? 0) > 0 ? Math.round((completionTokens / (data.eval_duration / 1e7)) * 100 * 100) / 100 : "N/A",
  };
}
