/**
 * Names a client may give a model, through the real gateway: a destination
 * with a digest made an undeletable phantom tag, and ID-like names were
 * shadowed by lookups by ID. Both are refused with a 400, as Docker does,
 * and nothing is created.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { useGateway } from "../support/gateway.ts";

const zeros = "0".repeat(64);
const refused = [`tiny:latest@sha256:${zeros}`, `copy@sha256:${zeros}`, `sha256:${zeros}`, "a".repeat(64), "0123456789ab"];

describe("new model names, through the real gateway", () => {
  const served = useGateway();
  const post = (path: string, body: unknown) =>
    fetch(`${served.gateway.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const names = async () => (await served.ollama.list()).models.map((model) => model.name).sort();

  it("/api/copy refuses a destination with a digest or shaped like an ID with a 400, and tags nothing", async () => {
    const before = await names();
    for (const destination of refused) {
      const response = await post("/api/copy", { source: "tiny", destination });
      const body = (await response.json()) as { error: string };
      assert.equal(response.status, 400, `${destination}: ${JSON.stringify(body)}`);
      assert.match(body.error, /digest|model ID/, destination);
    }
    assert.deepEqual(await names(), before);
  });

  it("/api/create refuses such a name the same way, before any stream", async () => {
    for (const model of refused) {
      const response = await post("/api/create", { model, from: "tiny", system: "hi", stream: false });
      const body = (await response.json()) as { error: string };
      assert.equal(response.status, 400, `${model}: ${JSON.stringify(body)}`);
    }
  });

  it("/models/{name}/tag (Docker Model Runner) refuses them too; an ordinary copy still works and can be deleted", async () => {
    const tagged = await fetch(`${served.gateway.url}/models/tiny/tag?${new URLSearchParams({ repo: "sha256", tag: zeros })}`, { method: "POST" });
    assert.equal(tagged.status, 400, await tagged.text());
    const copy = await post("/api/copy", { source: "tiny", destination: "tiny-copy:v1" });
    assert.equal(copy.status, 200, await copy.text());
    assert.ok((await names()).includes("tiny-copy:v1"));
    await served.ollama.delete({ model: "tiny-copy:v1" });
  });
});
