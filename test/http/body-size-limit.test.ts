import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Hono } from "hono";
import { bodySizeLimit } from "../../src/http/body-size-limit.ts";
import { createByteBudget } from "../../src/http/byte-budget.ts";

function app() {
  const app = new Hono();
  app.post("/", bodySizeLimit({ maxSize: 10, onError: (c) => c.json({ error: "too large" }, 413) }), async (c) => c.text(await c.req.text()));
  app.get("/", bodySizeLimit({ maxSize: 10, onError: (c) => c.json({ error: "too large" }, 413) }), (c) => c.text("got"));
  return app;
}

/**
 * A request whose `body` must not be touched: on @hono/node-server, merely
 * getting it wraps the socket in a web stream and slows the handler's read.
 */
function untouchable(length: number): Request {
  const request = new Request("http://localhost/", { method: "POST", headers: { "content-length": String(length) }, body: "x".repeat(length) });
  Object.defineProperty(request, "body", { get: () => assert.fail("the body was touched") });
  return request;
}

describe("bodySizeLimit", () => {
  it("refuses by Content-Length alone, without touching the body", async () => {
    const response = await app().fetch(untouchable(11));
    assert.equal(response.status, 413);
    assert.deepEqual(await response.json(), { error: "too large" });
  });

  it("lets a body within its Content-Length through to the handler, whole, untouched on the way", async () => {
    const limited = new Hono().post("/", bodySizeLimit({ maxSize: 10, onError: (c) => c.text("too large", 413) }), (c) => c.text("through"));
    const response = await limited.fetch(untouchable(10));
    assert.equal(response.status, 200);
    assert.equal(await response.text(), "through");
    const whole = await app().request("/", { method: "POST", headers: { "content-length": "10" }, body: "0123456789" });
    assert.equal(await whole.text(), "0123456789");
  });

  it("counts a body without a length as it is read", async () => {
    const chunked = (text: string) =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (const piece of text.match(/.{1,4}/g)!) controller.enqueue(new TextEncoder().encode(piece));
          controller.close();
        },
      });
    const over = await app().request("/", { method: "POST", body: chunked("0123456789A"), duplex: "half" } as RequestInit);
    assert.equal(over.status, 413);
    const within = await app().request("/", { method: "POST", body: chunked("0123456789"), duplex: "half" } as RequestInit);
    assert.equal(within.status, 200);
    assert.equal(await within.text(), "0123456789");
  });

  it("passes GET requests without looking at a body", async () => {
    const response = await app().request("/");
    assert.equal(response.status, 200);
    assert.equal(await response.text(), "got");
  });

  it("with a shared budget, answers onBusy to a body that does not fit beside those in flight, and frees it once they are done", async () => {
    const bytes = createByteBudget(100);
    let finish!: () => void;
    const held = new Promise<void>((resolve) => (finish = resolve));
    const limited = new Hono().post(
      "/",
      bodySizeLimit({ maxSize: 80, onError: (c) => c.text("too large", 413), budget: { bytes, onBusy: (c) => c.text("busy", 503) } }),
      async (c) => {
        const text = await c.req.text();
        if (c.req.query("hold") !== undefined) await held;
        return c.text(String(text.length));
      },
    );
    const send = (length: number, query = "", chunked = false) =>
      limited.request(`/${query}`, {
        method: "POST",
        ...(chunked
          ? { body: new Blob(["x".repeat(length)]).stream(), duplex: "half" }
          : { headers: { "content-length": String(length) }, body: "x".repeat(length) }),
      } as RequestInit);
    const first = send(60, "?hold");
    while (bytes.taken === 0) await new Promise((resolve) => setImmediate(resolve));
    assert.equal((await send(60)).status, 503, "a declared length that does not fit");
    assert.equal((await send(60, "", true)).status, 503, "a chunked body, counted as it comes");
    assert.equal((await send(81)).status, 413, "past its own limit it is still a 413");
    assert.equal(await (await send(40)).text(), "40", "what fits beside goes through");
    finish();
    assert.equal(await (await first).text(), "60");
    assert.equal(bytes.taken, 0, "every byte given back");
    assert.equal(await (await send(60, "", true)).text(), "60");
    assert.equal(bytes.taken, 0);
  });
});
