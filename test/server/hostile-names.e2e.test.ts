import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { useGateway } from "../support/gateway.ts";
import { descendants } from "../support/processes.ts";

/** Names built to escape the store, a registry path or a command line. */
const hostileNames = [
  "../../etc/passwd",
  "a/../../b",
  "/etc/passwd",
  "..",
  "%2e%2e%2fetc%2fpasswd",
  "x\u0000y",
  "C:\\Windows\\system32",
  "\\\\server\\share\\x",
  "tiny\n--model",
  "x".repeat(5000),
];

const endpoints: ReadonlyArray<readonly [path: string, body: (model: string) => unknown]> = [
  ["/api/chat", (model) => ({ model, messages: [{ role: "user", content: "hi" }], stream: false })],
  ["/api/generate", (model) => ({ model, prompt: "hi", stream: false })],
  ["/api/show", (model) => ({ model })],
  ["/api/embed", (model) => ({ model, input: "hi" })],
  ["/api/pull", (model) => ({ model, stream: false })],
  ["/api/copy", (model) => ({ source: "tiny", destination: model })],
  ["/v1/chat/completions", (model) => ({ model, messages: [{ role: "user", content: "hi" }] })],
  ["/engines/_configure", (model) => ({ model, "context-size": 512 })],
];

describe("hostile model names, through the real gateway", () => {
  const served = useGateway();

  for (const [path, body] of endpoints) {
    it(`${path} refuses each with a 4xx and an error body, starting nothing`, async () => {
      for (const name of hostileNames) {
        const response = await fetch(`${served.gateway.url}${path}`, { method: "POST", body: JSON.stringify(body(name)) });
        const text = await response.text();
        assert.ok(response.status >= 400 && response.status < 500, `${path} ${JSON.stringify(name.slice(0, 40))}: ${response.status} ${text}`);
        const parsed = JSON.parse(text) as { error?: unknown };
        assert.ok(parsed.error, `${path} answers with an error body: ${text}`);
      }
      const engines = (await descendants(served.gateway.child.pid!)).filter((process) => process.name === "llama-server");
      assert.equal(engines.length, 0, "no runner was started");
    });
  }

  it("stored nothing and keeps serving", async () => {
    const tags = (await (await fetch(`${served.gateway.url}/api/tags`)).json()) as { models: { name: string }[] };
    assert.deepEqual(tags.models.map((model) => model.name).sort(), ["tiny-draft:latest", "tiny-embed:latest", "tiny-tools:latest", "tiny:latest"]);
    assert.deepEqual(await readdir(join(served.gateway.home, "runners")), []);
    const reply = await fetch(`${served.gateway.url}/api/generate`, {
      method: "POST",
      body: JSON.stringify({ model: "tiny", prompt: "hi", stream: false, options: { num_predict: 2 } }),
    });
    assert.equal(reply.status, 200);
    assert.equal(((await reply.json()) as { done: boolean }).done, true);
  });
});
