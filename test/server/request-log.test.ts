import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Hono } from "hono";
import pino from "pino";
import * as v from "valibot";
import { readRequestBody } from "../../src/http/request-body.ts";
import { parseJsonBody } from "../../src/scheduling/json-body.ts";
import { requestLog } from "../../src/server/request-log.ts";
import { eventually } from "../support/eventually.ts";

function loggedApp() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  const app = new Hono();
  app.use("*", requestLog({ logger }));
  app.post("/json", async (c) => c.json({ read: await c.req.json() }));
  app.post("/text", async (c) => c.text(await c.req.text()));
  app.post("/bytes", async (c) => c.body(await c.req.arrayBuffer()));
  // The gateway's own readers, which note the model as they parse.
  app.post("/read", async (c) => c.json(await readRequestBody(c.req, v.looseObject({}))));
  app.post("/parsed", async (c) => c.json(parseJsonBody(v.looseObject({}), new Uint8Array(await c.req.arrayBuffer()))));
  // Streamed elsewhere (as blob uploads are): not Hono's to keep.
  app.post("/raw", async (c) => c.text(String((await new Response(c.req.raw.body).text()).length)));
  app.post("/stream", async (c) => {
    await c.req.arrayBuffer();
    const events = ['data: {"choices":[{"delta":{"content":"hi"}}]}\n\n', 'data: {"usage":{"prompt_tokens":7,"completion_tokens":2}}\n\n', "data: [DONE]\n\n"];
    return new Response(new ReadableStream({ start: (controller) => (events.forEach((event) => controller.enqueue(new TextEncoder().encode(event))), controller.close()) }), {
      headers: { "content-type": "text/event-stream" },
    });
  });
  /** The one line logged for `path`, once it is. */
  const lineFor = (path: string) => eventually(() => lines.find((entry) => entry.path === path), `a line logged for ${path}`, 2_000);
  return { app, lineFor };
}

const post = (body: string) => ({ method: "POST", headers: { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) }, body });

describe("requestLog", () => {
  it("logs the model of a body the handler read, however it read it, and the body reached the handler whole", async () => {
    const { app, lineFor } = loggedApp();
    const body = JSON.stringify({ model: "tiny", messages: [] });
    assert.deepEqual(await (await app.request("/json", post(body))).json(), { read: { model: "tiny", messages: [] } });
    assert.equal(await (await app.request("/text", post(body))).text(), body);
    assert.equal(await (await app.request("/bytes", post(body))).text(), body);
    for (const path of ["/json", "/text", "/bytes"]) {
      const line = await lineFor(path);
      assert.equal(line.model, "tiny", path);
      assert.equal(line.method, "POST");
      assert.equal(line.status, 200);
      assert.equal(typeof line.duration_ms, "number");
    }
  });

  it("reads no body of its own: a body the handler streamed itself is logged without a model", async () => {
    const { app, lineFor } = loggedApp();
    const body = JSON.stringify({ model: "tiny" });
    assert.equal(await (await app.request("/raw", post(body))).text(), String(body.length));
    const line = await lineFor("/raw");
    assert.equal(line.status, 200);
    assert.equal("model" in line, false);
  });

  it("logs a stream at its end with the tokens it reported", async () => {
    const { app, lineFor } = loggedApp();
    const response = await app.request("/stream", post(JSON.stringify({ model: "tiny", stream: true })));
    assert.match(await response.text(), /\[DONE\]/);
    const line = await lineFor("/stream");
    assert.equal(line.model, "tiny");
    assert.equal(line.prompt_tokens, 7);
    assert.equal(line.completion_tokens, 2);
  });

  it("leaves out a model that is not a string, and bodies that are not JSON", async () => {
    const { app, lineFor } = loggedApp();
    await (await app.request("/text", post(JSON.stringify({ model: 42 })))).text();
    await (await app.request("/bytes", post("not json"))).text();
    assert.equal("model" in (await lineFor("/text")), false);
    assert.equal("model" in (await lineFor("/bytes")), false);
  });

  it("logs the model of a body the gateway's readers parsed as JSON.parse reads it, a lone surrogate and a model that is no string included", async () => {
    const { app, lineFor } = loggedApp();
    for (const [path, model] of [["/read", "tiny"], ["/parsed", "tiny:latest"]] as const) {
      assert.equal((await app.request(path, post(JSON.stringify({ model, stream: true })))).status, 200);
      assert.equal((await lineFor(path)).model, model, path);
    }
    const { app: other, lineFor: otherLineFor } = loggedApp();
    // The readers replace a lone surrogate with U+FFFD; the log names the model as the client wrote it.
    assert.equal((await other.request("/read", post('{"model":"tiny\\ud800"}'))).status, 200);
    assert.equal((await otherLineFor("/read")).model, "tiny\ud800");
    assert.equal((await other.request("/parsed", post('{"model":["tiny"]}'))).status, 200);
    assert.equal("model" in (await otherLineFor("/parsed")), false);
  });
});
