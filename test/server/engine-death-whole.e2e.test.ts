/**
 * The engine killed while a whole (non-streamed) reply is being generated,
 * per dialect: the client gets an error in the dialect's own shape and a
 * failure status, never a 200 that looks finished nor a connection cut
 * without a word; the next request is served. (Streams: engine-death-dialects.)
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { eventually } from "../support/eventually.ts";
import { useGateway, type GatewayProcess } from "../support/gateway.ts";
import { descendants } from "../support/processes.ts";

const messages = [{ role: "user", content: "Say something." }];
const endless = 1_000_000_000;

async function engines(gateway: GatewayProcess): Promise<number[]> {
  return (await descendants(gateway.child.pid!)).filter((p) => p.name === "llama-server").map((p) => p.pid);
}

/** Per path: the request, and where its error's message is. */
const cases = [
  { path: "/api/chat", body: { model: "tiny", stream: false, messages, options: { num_predict: endless } }, message: (json: any) => json.error },
  { path: "/api/generate", body: { model: "tiny", stream: false, prompt: "hi", options: { num_predict: endless } }, message: (json: any) => json.error },
  { path: "/v1/chat/completions", body: { model: "tiny", messages, max_tokens: endless }, message: (json: any) => json.error?.message },
  { path: "/v1/messages", body: { model: "tiny", max_tokens: endless, messages }, message: (json: any) => json.type === "error" && json.error?.message },
  { path: "/v1/responses", body: { model: "tiny", input: "hi", max_output_tokens: endless }, message: (json: any) => json.error?.message },
  { path: "/engines/v1/chat/completions", body: { model: "tiny", messages, max_tokens: endless }, message: (json: any) => json.error?.message },
];

describe("the engine killed during a whole reply, per dialect (real engine)", () => {
  const served = useGateway();

  for (const { path, body, message } of cases) {
    it(`${path}: an error in the dialect's shape with a failure status, and the next request is served`, async () => {
      const { gateway } = served;
      // Generations that only the kill can end.
      const configured = await fetch(`${gateway.url}/engines/_configure`, {
        method: "POST",
        body: JSON.stringify({ model: "tiny", "context-size": 2048, "runtime-flags": ["--ignore-eos", "--n-predict", "-1"] }),
      });
      assert.equal(configured.status, 200);
      const reply = fetch(`${gateway.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }).then(async (response) => ({
        status: response.status,
        text: await response.text(),
      }));
      await eventually(async () => ((await (await fetch(`${gateway.url}/engines/ps`)).json()) as { in_use: boolean }[]).some((one) => one.in_use), "the generation under way", 120_000);
      const [pid] = await engines(gateway);
      process.kill(pid!, "SIGKILL");
      const { status, text } = await reply;
      assert.ok(status >= 500, `${path}: status ${status}: ${text.slice(0, 300)}`);
      const said = message(JSON.parse(text));
      assert.match(String(said), /llama-server|runner|engine/, `${path}: ${text.slice(0, 300)}`);

      const next = await fetch(`${gateway.url}/api/chat`, { method: "POST", body: JSON.stringify({ model: "tiny", stream: false, messages, options: { num_predict: 2 } }) });
      assert.equal(((await next.json()) as { done: boolean }).done, true);
    });
  }
});
