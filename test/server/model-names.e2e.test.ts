import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { useGateway } from "../support/gateway.ts";
import { descendants } from "../support/processes.ts";

describe("one model under several names, through the real gateway", () => {
  const served = useGateway();

  it("serves a copy from the runner already loaded for the original", async () => {
    const original = await served.ollama.generate({ model: "tiny", prompt: "hi", options: { num_predict: 3, temperature: 0 } });
    assert.equal(original.done, true);
    await served.ollama.copy({ source: "tiny", destination: "mine" });

    const copy = await served.ollama.generate({ model: "mine", prompt: "hi", options: { num_predict: 3, temperature: 0 } });
    assert.equal(copy.done, true);
    assert.equal(copy.response, original.response, "same weights, same greedy answer");
    assert.equal(copy.load_duration, 0, "no second load");
    const engines = (await descendants(served.gateway.child.pid!)).filter((process) => process.name === "llama-server");
    assert.equal(engines.length, 1, "one llama-server for both names");
    const { models } = await served.ollama.ps();
    assert.equal(models.length, 1);
  });

  it("answers 404 for a name that was deleted, and keeps serving the original", async () => {
    await served.ollama.delete({ model: "mine" });
    await assert.rejects(served.ollama.generate({ model: "mine", prompt: "hi" }), /model "mine(:latest)?" not found/);
    const reply = await served.ollama.generate({ model: "tiny", prompt: "hi", options: { num_predict: 2 } });
    assert.equal(reply.done, true);
  });
});
