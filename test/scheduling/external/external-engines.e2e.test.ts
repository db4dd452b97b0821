/**
 * External engines end to end: two real llama-servers on loopback TCP as two
 * replicas of one external engine (and a third serving embeddings), behind
 * the real gateway, driven by the openai and ollama clients.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Ollama } from "ollama";
import OpenAI from "openai";
import { ensureFixtureModels } from "../../../fixtures/generate.ts";
import { parsePrometheusText } from "../../../src/scheduling/prometheus-text.ts";
import { startGateway, type GatewayProcess } from "../../support/gateway.ts";
import { startTcpLlamaServer, type TcpLlamaServer } from "../../support/tcp-llama-server.ts";

const messages = [{ role: "user" as const, content: "Say something." }];
const bounded = { timeout: 180_000 };

let replicas: [TcpLlamaServer, TcpLlamaServer];
let embedder: TcpLlamaServer;
let gateway: GatewayProcess;
let openai: OpenAI;
let ollama: Ollama;

/** Requests each replica completed, read from its own metrics: every request generates exactly `tokens` tokens. */
async function completedPerReplica(tokens: number): Promise<number[]> {
  return Promise.all(replicas.map(async (replica) => (await replica.metric("llamacpp:tokens_predicted_total")) / tokens));
}

/** The sum of the gateway's samples of `name` carrying `labels`. */
async function gatewayMetric(name: string, labels: Record<string, string>): Promise<number> {
  const families = parsePrometheusText(await (await fetch(`${gateway.url}/metrics`)).text());
  return families
    .flatMap((family) => family.samples)
    .filter((sample) => sample.name === name && Object.entries(labels).every(([label, value]) => sample.labels[label] === value))
    .reduce((sum, sample) => sum + sample.value, 0);
}

/** The gateway's count of requests a replica answered, or whose connection failed before an answer. */
function gatewayCount(replica: TcpLlamaServer, result: "answered" | "connection_failed"): Promise<number> {
  return gatewayMetric("modelgate_external_requests_total", { replica: replica.url, result });
}

/** The engines layer's count of requests for the external model, as for any model: once each, however many replicas it tried. */
function modelRequests(outcome?: "completed" | "failed"): Promise<number> {
  return gatewayMetric("modelgate_engine_requests_total", { model: "remote-tiny", origin: "direct", ...(outcome ? { outcome } : {}) });
}

/** One streamed chat through the openai client, classified by where it ended. */
async function streamChat(maxTokens: number) {
  let stream;
  try {
    stream = await openai.chat.completions.create({ model: "remote-tiny", messages, max_tokens: maxTokens, stream: true });
  } catch (error) {
    return { phase: "before streaming", error: error as Error } as const;
  }
  let content = "";
  let finishReason: string | null = null;
  try {
    for await (const chunk of stream) {
      content += chunk.choices[0]?.delta.content ?? "";
      finishReason = chunk.choices[0]?.finish_reason ?? finishReason;
    }
  } catch (error) {
    return { phase: "while streaming", error: error as Error } as const;
  }
  return { phase: "completed", content, finishReason } as const;
}

it("refuses to start with a malformed external engine, naming the field", async () => {
  const engines = JSON.stringify({ engines: [{ name: "remote", urls: ["http://127.0.0.1:1", "file:///etc/passwd"] }] });
  await assert.rejects(
    startGateway({ env: { MODELGATE_EXTERNAL_ENGINES: engines } }),
    /exited with 1 before listening: .*MODELGATE_EXTERNAL_ENGINES: engines\[0\]\.urls\[1\]: must be an http or https URL/,
  );
});

describe("external engine with two llama-server replicas", { timeout: 600_000 }, () => {
  before(async () => {
    const models = await ensureFixtureModels();
    // Two slots each, so a batch keeps some requests queued (not yet answered) on every replica.
    const chat = { model: models.chat, alias: "remote-tiny", args: ["--parallel", "2"] };
    const started = await Promise.all([
      startTcpLlamaServer(chat),
      startTcpLlamaServer(chat),
      startTcpLlamaServer({ model: models.embedding, alias: "tiny-embed", args: ["--embeddings", "--pooling", "mean"] }),
    ]);
    replicas = [started[0], started[1]];
    embedder = started[2];
    const engines = {
      engines: [
        { name: "remote", urls: replicas.map((replica) => replica.url), health_interval_seconds: 1 },
        { name: "embedder", urls: [`${embedder.url}/v1`], prefix: "embed/", models: ["tiny-embed"] },
      ],
    };
    gateway = await startGateway({ env: { MODELGATE_EXTERNAL_ENGINES: JSON.stringify(engines) } });
    openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "unused", maxRetries: 0 });
    ollama = new Ollama({ host: gateway.url });
  });

  after(async () => {
    await gateway?.stop();
    await Promise.all([...(replicas ?? []), ...(embedder ? [embedder] : [])].map((server) => server.kill()));
  });

  it("lists the external models in /api/tags, /engines/v1/models and the engine's own list", bounded, async () => {
    const tags = await ollama.list();
    const remote = tags.models.find((model) => model.name === "remote-tiny");
    assert.ok(remote, `remote-tiny in /api/tags: ${tags.models.map((model) => model.name).join(", ")}`);
    assert.match(remote.digest, /^[0-9a-f]{64}$/);
    assert.ok(remote.size > 0, "the replica's model size");
    assert.ok(tags.models.some((model) => model.name === "embed/tiny-embed"), "the prefixed embedding model");
    assert.ok(tags.models.some((model) => model.name === "tiny:latest"), "local models still listed");

    const listed = await openai.models.list();
    const entry = listed.data.find((model) => model.id === "remote-tiny");
    assert.equal(entry?.owned_by, "remote");

    const own = (await (await fetch(`${gateway.url}/engines/remote/v1/models`)).json()) as { data: Array<{ id: string }> };
    assert.deepEqual(own.data.map((model) => model.id), ["remote-tiny"]);

    const shown = await ollama.show({ model: "remote-tiny" });
    assert.deepEqual(shown.capabilities, ["completion"]);
    // ollama-js types model_info as a Map; it is a plain object on the wire.
    const info = shown.model_info as unknown as Record<string, unknown>;
    assert.equal(info["unknown.context_length"], 4096, "the replica's context, from its /v1/models");
  });

  it("streams with the openai and ollama clients, embeds, and spreads requests over both replicas", bounded, async () => {
    const tokens = 4;
    const before = await completedPerReplica(tokens);
    const chats = await Promise.all(Array.from({ length: 4 }, () => streamChat(tokens)));
    for (const chat of chats) {
      assert.equal(chat.phase, "completed");
      assert.equal(chat.finishReason, "length");
      assert.ok(chat.content.length > 0);
    }

    for (let i = 0; i < 2; i += 1) {
      const parts = [];
      for await (const part of await ollama.chat({ model: "remote-tiny", messages, stream: true, options: { num_predict: tokens } })) parts.push(part);
      const last = parts.at(-1)!;
      assert.equal(last.done, true);
      assert.equal(last.done_reason, "length");
      assert.equal(last.eval_count, tokens);
      assert.ok(parts.slice(0, -1).map((part) => part.message.content).join("").length > 0);
    }
    const generated = await ollama.generate({ model: "remote-tiny:latest", prompt: "Once", stream: false, options: { num_predict: tokens } });
    assert.equal(generated.done_reason, "length");
    assert.ok((generated.response ?? "").length > 0);

    const embedded = await ollama.embed({ model: "embed/tiny-embed", input: ["hello", "world"] });
    assert.equal(embedded.embeddings.length, 2);
    const norm = Math.hypot(...embedded.embeddings[0]!);
    assert.ok(Math.abs(norm - 1) < 1e-4, `normalised, got ${norm}`);

    const ollamaTokens = await gatewayMetric("modelgate_engine_completion_tokens_total", { model: "remote-tiny", origin: "ollama/completion" });
    assert.equal(ollamaTokens, 3 * tokens, "the engines metrics count the Ollama requests' tokens, as for local models");

    const after = await completedPerReplica(tokens);
    const served = after.map((count, i) => count - before[i]!);
    console.log(`# 7 chat requests: ${served.join(" and ")} per replica`);
    assert.equal(served[0]! + served[1]!, 7, "every request reached a replica once");
    assert.ok(served.every((count) => count >= 2), `both replicas served: ${served.join(", ")}`);
  });

  it("answers on the engine's own path, and stops the replica's work when the client goes away", bounded, async () => {
    const direct = await fetch(`${gateway.url}/engines/remote/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ model: "remote-tiny", messages, max_tokens: 2 }),
    });
    assert.equal(direct.status, 200);
    assert.equal(((await direct.json()) as { object: string }).object, "chat.completion");
    const local = await fetch(`${gateway.url}/engines/remote/v1/chat/completions`, { method: "POST", body: JSON.stringify({ model: "tiny", messages }) });
    assert.equal(local.status, 404, "a local model is not the external engine's");

    const maxTokens = 1500;
    const predicted = () => Promise.all(replicas.map((replica) => replica.metric("llamacpp:tokens_predicted_total")));
    const before = await predicted();
    const stream = await openai.chat.completions.create({ model: "remote-tiny", messages, max_tokens: maxTokens, stream: true });
    for await (const chunk of stream) if (chunk.choices[0]?.delta.content) break; // leaving the loop closes the stream
    // Both replicas go idle, and the gateway counts nothing in flight.
    const idle = async () =>
      (await Promise.all(replicas.map((replica) => replica.metric("llamacpp:requests_processing")))).every((count) => count === 0) &&
      /up, 0 in flight; .* up, 0 in flight/.test(((await (await fetch(`${gateway.url}/engines/status`)).json()) as Record<string, string>).remote!);
    while (!(await idle())) await sleep(50);
    const generated = (await predicted()).reduce((sum, count, i) => sum + count - before[i]!, 0);
    console.log(`# cancelled stream: ${generated} of ${maxTokens} tokens generated`);
    assert.ok(generated < maxTokens, `the replica stopped early: ${generated} of ${maxTokens} tokens`);
  });

  it("fails over when a replica is killed mid-run: no request lost before streaming, none hangs", bounded, async () => {
    const [victim, survivor] = replicas;
    const tokens = 48;
    const answeredBefore = await gatewayCount(victim, "answered");
    const [requestsBefore, failedBefore] = [await modelRequests(), await modelRequests("failed")];
    const batch = Promise.all(Array.from({ length: 8 }, () => streamChat(tokens)));
    // The victim holds four of the eight; kill it once its first stream has begun.
    while ((await gatewayCount(victim, "answered")) === answeredBefore) await sleep(10);
    await victim.kill();
    const outcomes = await batch;

    const completed = outcomes.filter((outcome) => outcome.phase === "completed");
    const cutOff = outcomes.filter((outcome) => outcome.phase === "while streaming");
    const lost = outcomes.filter((outcome) => outcome.phase === "before streaming");
    const retried = await gatewayCount(victim, "connection_failed");
    console.log(`# 8 requests: ${completed.length} completed, ${cutOff.length} cut off mid-stream, ${lost.length} failed before streaming, ${retried} retried on the survivor`);
    assert.deepEqual(lost.map((outcome) => outcome.error.message), [], "every request not yet streaming was served by the survivor");
    for (const outcome of completed) assert.equal(outcome.finishReason, "length");
    for (const outcome of cutOff) assert.match(outcome.error.message, /external engine remote: replica http:\/\/127\.0\.0\.1:\d+ failed/);
    assert.ok(cutOff.length >= 1, "the victim's first stream was cut off");
    assert.ok(retried >= 1, "the victim's queued requests went to the survivor");
    assert.equal(completed.length + cutOff.length, 8);
    assert.equal((await modelRequests()) - requestsBefore, 8, "each request counted once in the engines metrics");
    assert.equal((await modelRequests("failed")) - failedBefore, cutOff.length);

    // From now on, everything goes to the survivor.
    const survivorBefore = await gatewayCount(survivor, "answered");
    const victimAnswered = await gatewayCount(victim, "answered");
    const later = await Promise.all(Array.from({ length: 4 }, () => streamChat(4)));
    assert.deepEqual(later.map((outcome) => outcome.phase), ["completed", "completed", "completed", "completed"]);
    assert.equal((await gatewayCount(survivor, "answered")) - survivorBefore, 4);
    assert.equal(await gatewayCount(victim, "answered"), victimAnswered);
    const status = (await (await fetch(`${gateway.url}/engines/status`)).json()) as Record<string, string>;
    assert.match(status.remote!, /1\/2 replicas up/);
  });

  it("answers 503 naming the replicas once none is up", bounded, async () => {
    await replicas[1].kill();
    const outcome = await streamChat(4);
    assert.equal(outcome.phase, "before streaming");
    assert.equal((outcome.error as InstanceType<typeof OpenAI.APIError>).status, 503);
    assert.match(outcome.error.message, /external engine remote has no replica up for remote-tiny \(http:\/\/127\.0\.0\.1:\d+: .+; http:\/\/127\.0\.0\.1:\d+: .+\)/);
    await assert.rejects(ollama.chat({ model: "remote-tiny", messages }), (error: Error & { status_code?: number }) => {
      assert.equal(error.status_code, 503);
      assert.match(error.message, /no replica up/);
      return true;
    });
  });
});
