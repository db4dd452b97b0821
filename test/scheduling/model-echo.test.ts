import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { modelEcho } from "../../src/scheduling/model-echo.ts";

async function echoed(pieces: string[], served = "tiny:latest", requested = "tiny"): Promise<string[]> {
  const echo = modelEcho(served, requested);
  const out = [...pieces.map((piece) => echo.push(Buffer.from(piece))), echo.end()];
  return out.filter((chunk) => chunk !== undefined).map((chunk) => chunk.toString());
}

describe("the model echoed as the client named it", () => {
  test("every model field of an SSE stream, each event as soon as it is whole", async () => {
    const events = ['data: {"model":"tiny:latest","n":1}\n\n', 'data: {"model":"tiny:latest","n":2}\n\n'];
    assert.deepEqual(await echoed(events), ['data: {"model":"tiny","n":1}\n\n', 'data: {"model":"tiny","n":2}\n\n']);
  });

  test("a field cut between two chunks anywhere", async () => {
    const text = '{"id":"x","model":"tiny:latest","choices":[]}';
    for (let cut = 1; cut < text.length; cut++) {
      assert.equal((await echoed([text.slice(0, cut), text.slice(cut)])).join(""), '{"id":"x","model":"tiny","choices":[]}');
    }
  });

  test("the name inside generated text (escaped quotes) is left alone", async () => {
    const text = '{"content":"\\"model\\":\\"tiny:latest\\"","model":"tiny:latest"}';
    assert.equal((await echoed([text])).join(""), '{"content":"\\"model\\":\\"tiny:latest\\"","model":"tiny"}');
  });
});
