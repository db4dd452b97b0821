import assert from "node:assert/strict";
import { once } from "node:events";
import { request } from "node:http";
import { PassThrough } from "node:stream";
import { after, describe, it } from "node:test";
import { Hono } from "hono";
import { streamReply, type ReplyTranslation } from "../../src/http/stream-reply.ts";
import { listen, type RunningServer } from "../../src/server/serve.ts";
import { eventually } from "../support/eventually.ts";

const head = { status: 200, headers: { "content-type": "application/x-ndjson" } };

/** Each chunk in upper case, and a last line once the source has ended (after a pause, as Ollama's `context` is counted). */
const shouting: ReplyTranslation = {
  push: (chunk, write) => write(Buffer.from(chunk.toString().toUpperCase())),
  end: async (write, failure) => {
    await new Promise((resolve) => setImmediate(resolve));
    write(Buffer.from(failure ? `broke: ${failure.message}\n` : "end\n"));
  },
};

function appStreaming(sources: PassThrough[]) {
  const app = new Hono();
  app.use("*", async (c, next) => {
    c.header("x-set-before", "kept"); // as CORS sets its headers before the handler
    await next();
  });
  app.get("/plain", (c) => {
    const source = new PassThrough();
    sources.push(source);
    return streamReply(c, head, source);
  });
  app.get("/translated", (c) => {
    const source = new PassThrough();
    sources.push(source);
    return streamReply(c, head, source, shouting);
  });
  return app;
}

function get(url: string, path: string) {
  return new Promise<import("node:http").IncomingMessage>((resolve, reject) => request(url + path, resolve).on("error", reject).end());
}

describe("a reply streamed straight to Node's response", () => {
  const sources: PassThrough[] = [];
  let server: RunningServer | undefined;
  after(() => server?.close());

  it("sends the source's chunks as they come, with the headers set before, and ends with it", async () => {
    server = await listen(appStreaming(sources), { hostname: "127.0.0.1", port: 0 });
    const reply = await get(server.url, "/plain");
    assert.equal(reply.statusCode, 200);
    assert.equal(reply.headers["content-type"], "application/x-ndjson");
    assert.equal(reply.headers["x-set-before"], "kept");
    const source = sources.at(-1)!;
    source.write("one\n");
    const [first] = (await once(reply, "data")) as [Buffer];
    reply.pause();
    assert.equal(first.toString(), "one\n", "a lone chunk goes out without waiting for more");
    source.end("two\n");
    let rest = "";
    for await (const chunk of reply) rest += String(chunk);
    assert.equal(rest, "two\n");
  });

  it("translates each chunk, and writes the translation's last words once the source ends", async () => {
    server ??= await listen(appStreaming(sources), { hostname: "127.0.0.1", port: 0 });
    const reply = await get(server.url, "/translated");
    const source = sources.at(-1)!;
    source.write("a\n");
    source.end("b\n");
    let text = "";
    for await (const chunk of reply) text += String(chunk);
    assert.equal(text, "A\nB\nend\n");
  });

  it("a client that stops reading pauses the source; one that leaves destroys it", async () => {
    server ??= await listen(appStreaming(sources), { hostname: "127.0.0.1", port: 0 });
    const reply = await get(server.url, "/plain");
    reply.pause();
    const source = sources.at(-1)!;
    const piece = Buffer.alloc(64 * 1024, 120);
    // Written as fast as the source takes it: it stops taking once the client's socket is full.
    await eventually(async () => {
      while (source.write(piece));
      await new Promise((resolve) => setTimeout(resolve, 20));
      return source.isPaused() && source.writableLength > 0;
    }, "the source to be paused");
    reply.destroy();
    await eventually(async () => source.destroyed, "the source to be destroyed");
  });
});

describe("the same reply served without Node (a web Response)", () => {
  it("carries the translated bytes and the last words", async () => {
    const sources: PassThrough[] = [];
    const app = appStreaming(sources);
    const pending = app.request("/translated");
    const response = await pending;
    const source = sources.at(-1)!;
    source.end("x\n");
    assert.equal(await response.text(), "X\nend\n");
  });
});
