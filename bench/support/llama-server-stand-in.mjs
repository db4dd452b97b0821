#!/usr/bin/env -S -u NODE_OPTIONS node
// A STAND-IN FOR llama-server, NOT llama-server: the hot-path bench's
// zero-compute engine. Started by a gateway as its llama-server
// (LLAMA_SERVER_PATH), with the runner's command line, it serves what the
// gateway asks of a runner (/health, /v1/models, /props, /metrics,
// /apply-template, /tokenize) and streams made-up words, one every
// LLAMA_STAND_IN_INTERVAL_MS (default 2) to every open stream at once, as
// llama-server's batched decoding does (a stream whose reader is behind
// waits for it): `/v1/chat/completions` and
// `/v1/completions` as OpenAI server-sent events, `/v1/messages` as
// Anthropic's, each event shaped byte for byte like the recorded
// llama-server streams (fixtures/streams/). `max_tokens` (or `n_predict`)
// words per request, 100 when unset. Nothing it says comes from a model: the
// gateway's CPU per token is measured against it, with no engine work on the
// machine's cores. (NODE_OPTIONS are dropped: a profiled gateway's preload
// is not the engine's.)
import { rmSync } from "node:fs";
import { createServer } from "node:http";

const argv = process.argv.slice(2);
if (argv.includes("--list-devices")) {
  process.stdout.write("Available devices:\n");
  process.exit(0);
}
if (argv.includes("--version")) {
  process.stderr.write("version: 1 (stand-in)\nbuilt with no compiler, for no target\n");
  process.exit(0);
}
const flag = (name) => {
  const at = argv.indexOf(name);
  return at < 0 ? undefined : argv[at + 1];
};
const socket = flag("--host");
if (!socket?.startsWith("/")) {
  process.stderr.write("the stand-in serves on a Unix socket only: --host /path\n");
  process.exit(1);
}
const alias = flag("--alias") ?? flag("--model") ?? "stand-in";
const contextSize = Number(flag("--ctx-size") ?? 4096);
const intervalMs = Number(process.env.LLAMA_STAND_IN_INTERVAL_MS ?? 2);
const defaultTokens = 100;
const words = [" the", " keeper", " of", " a", " light", "house", " watched", " ships", " pass", " at", " night", ",", " and", " wrote", " it", " down", "."];
const fingerprint = "b1-de3ff81";
const modelJson = JSON.stringify(alias);

/** Open streams; each is written one event per tick. */
const streams = new Set();
let ticker;

function tick() {
  for (const stream of streams) {
    if (stream.response.destroyed) {
      streams.delete(stream);
      continue;
    }
    // A reader that is behind holds its stream back, as a blocked write holds llama-server's.
    if (stream.waiting) continue;
    if (!stream.response.write(stream.token(stream.sent))) {
      stream.waiting = true;
      stream.response.once("drain", () => (stream.waiting = false));
    }
    stream.sent += 1;
    if (stream.sent === stream.total) {
      for (const event of stream.ending()) stream.response.write(event);
      stream.response.end();
      streams.delete(stream);
    }
  }
  if (streams.size === 0) {
    clearInterval(ticker);
    ticker = undefined;
  }
}

function open(response, stream) {
  response.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache", "Keep-Alive": "timeout=5, max=100", Server: "llama.cpp" });
  for (const event of stream.opening) response.write(event);
  if (stream.total === 0) {
    for (const event of stream.ending()) response.write(event);
    response.end();
    return;
  }
  streams.add({ response, sent: 0, waiting: false, ...stream });
  ticker ??= setInterval(tick, intervalMs);
}

let requestCount = 0;
const newId = (prefix) => `${prefix}${process.pid.toString(36)}x${(requestCount++).toString(36).padStart(24, "0")}`;
const wordAt = (index) => words[index % words.length];
const textOf = (count) => Array.from({ length: count }, (_, index) => wordAt(index)).join("");
const created = () => Math.floor(Date.now() / 1000);

function timings(total) {
  return { cache_n: 0, prompt_n: 20, prompt_ms: 1, prompt_per_token_ms: 0.05, prompt_per_second: 20000, predicted_n: total, predicted_ms: total * intervalMs, predicted_per_token_ms: intervalMs, predicted_per_second: 1000 / intervalMs };
}

function chatStream(body, total) {
  const tail = `,"created":${created()},"id":"${newId("chatcmpl-")}","model":${modelJson},"system_fingerprint":"${fingerprint}","object":"chat.completion.chunk"}\n\n`;
  const usage = body.stream_options?.include_usage === true;
  return {
    total,
    opening: [`data: {"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}]${tail}`],
    token: (index) => `data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":${JSON.stringify(wordAt(index))}}}]${tail}`,
    ending: () => [
      `data: {"choices":[{"finish_reason":"length","index":0,"delta":{}}]${tail}`,
      ...(usage
        ? [`data: {"choices":[]${tail.slice(0, -3)},"usage":${JSON.stringify({ completion_tokens: total, prompt_tokens: 20, total_tokens: total + 20, prompt_tokens_details: { cached_tokens: 0 } })},"timings":${JSON.stringify(timings(total))}}\n\n`]
        : []),
      "data: [DONE]\n\n",
    ],
  };
}

function completionStream(total) {
  const tail = `,"created":${created()},"id":"${newId("cmpl-")}","model":${modelJson},"system_fingerprint":"${fingerprint}","object":"text_completion"}\n\n`;
  return {
    total,
    opening: [],
    token: (index) => `data: {"choices":[{"text":${JSON.stringify(wordAt(index))},"index":0,"logprobs":null,"finish_reason":null}]${tail}`,
    ending: () => [`data: {"choices":[{"text":"","index":0,"logprobs":null,"finish_reason":"length"}]${tail}`, "data: [DONE]\n\n"],
  };
}

function messagesStream(total) {
  const event = (type, data) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  const message = { id: newId("chatcmpl-"), type: "message", role: "assistant", content: [], model: alias, stop_reason: null, stop_sequence: null, usage: { cache_read_input_tokens: 0, input_tokens: 20, output_tokens: 0 } };
  return {
    total,
    opening: [event("message_start", { message }), event("content_block_start", { index: 0, content_block: { type: "text", text: "" } })],
    token: (index) => `event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":${JSON.stringify(wordAt(index))}}}\n\n`,
    ending: () => [
      event("content_block_stop", { index: 0 }),
      event("message_delta", { delta: { stop_reason: "max_tokens", stop_sequence: null }, usage: { output_tokens: total } }),
      event("message_stop", {}),
    ],
  };
}

function whole(path, total) {
  const text = textOf(total);
  if (path === "/v1/messages") {
    return { id: newId("chatcmpl-"), type: "message", role: "assistant", content: [{ type: "text", text }], model: alias, stop_reason: "max_tokens", stop_sequence: null, usage: { input_tokens: 20, output_tokens: total } };
  }
  const usage = { completion_tokens: total, prompt_tokens: 20, total_tokens: total + 20 };
  if (path === "/v1/completions") {
    return { choices: [{ text, index: 0, logprobs: null, finish_reason: "length" }], created: created(), model: alias, object: "text_completion", id: newId("cmpl-"), usage, timings: timings(total) };
  }
  return {
    choices: [{ finish_reason: "length", index: 0, message: { role: "assistant", content: text } }],
    created: created(),
    model: alias,
    system_fingerprint: fingerprint,
    object: "chat.completion",
    id: newId("chatcmpl-"),
    usage,
    timings: timings(total),
  };
}

function sendJson(response, status, value) {
  const body = JSON.stringify(value);
  response.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(body), Server: "llama.cpp" });
  response.end(body);
}

/** What the stand-in does not serve is said on stderr (the gateway logs it), so the bench's blind spots show. */
function notFound(request, response) {
  process.stderr.write(`stand-in: no route for ${request.method} ${request.url}\n`);
  sendJson(response, 404, { error: { code: 404, message: "File Not Found", type: "not_found_error" } });
}

function promptOf(body) {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  return messages.map((message) => `<|${message.role}|>${typeof message.content === "string" ? message.content : JSON.stringify(message.content)}\n`).join("") + "<|assistant|>";
}

const getRoutes = {
  "/health": () => ({ status: "ok" }),
  "/v1/models": () => ({ object: "list", data: [{ id: alias, object: "model", created: created(), owned_by: "llamacpp", meta: { n_ctx_train: contextSize } }] }),
  "/props": () => ({ default_generation_settings: { n_ctx: contextSize }, total_slots: 4, model_alias: alias, build_info: fingerprint }),
};

const server = createServer((request, response) => {
  const path = (request.url ?? "/").split("?")[0];
  if (request.method === "GET") {
    if (path === "/metrics") {
      response.writeHead(200, { "Content-Type": "text/plain; version=0.0.4" });
      response.end("# HELP llamacpp:requests_processing Number of requests processing.\n# TYPE llamacpp:requests_processing gauge\nllamacpp:requests_processing " + streams.size + "\n");
      return;
    }
    const route = getRoutes[path];
    return route ? sendJson(response, 200, route()) : notFound(request, response);
  }
  const parts = [];
  request.on("data", (part) => parts.push(part));
  request.on("end", () => {
    let body;
    try {
      body = JSON.parse(Buffer.concat(parts).toString("utf8") || "{}");
    } catch {
      return sendJson(response, 400, { error: { code: 400, message: "the request body is no JSON", type: "invalid_request_error" } });
    }
    const requested = body.max_tokens ?? body.n_predict;
    const total = Number.isInteger(requested) && requested >= 0 ? requested : defaultTokens;
    switch (path) {
      case "/apply-template":
        return sendJson(response, 200, { prompt: promptOf(body) });
      case "/tokenize": {
        const content = typeof body.content === "string" ? body.content : "";
        return sendJson(response, 200, { tokens: content.split(/\s+/).filter(Boolean).map((_, index) => index + 1) });
      }
      case "/v1/chat/completions":
      case "/v1/completions":
      case "/v1/messages":
        if (body.stream !== true) return sendJson(response, 200, whole(path, total));
        return open(response, path === "/v1/messages" ? messagesStream(total) : path === "/v1/completions" ? completionStream(total) : chatStream(body, total));
      default:
        return notFound(request, response);
    }
  });
});
server.keepAliveTimeout = 5_000;

rmSync(socket, { force: true });
server.listen(socket, () => process.stderr.write(`main: server is listening on ${socket} (stand-in, ${intervalMs} ms per token)\n`));
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
