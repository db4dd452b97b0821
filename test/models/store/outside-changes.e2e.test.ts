/**
 * The model store changed by another process on the same data directory
 * (the gateway answers a reference it resolved before from a kept promise
 * while the index file is unchanged): each change is seen by the next
 * request, a name moved to another digest included, and an index file
 * replaced by something odd is an error that passes once it is put back.
 */
import assert from "node:assert/strict";
import { readFile, rename, writeFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { openModelStore, type ModelStore } from "../../../src/models/store/model-store.ts";
import { parseNamedReference } from "../../../src/models/reference.ts";
import { startGateway, type GatewayProcess } from "../../support/gateway.ts";

describe("the store changed by another process between requests (real gateway)", () => {
  let gateway: GatewayProcess;
  let outside: ModelStore;
  const show = async (model: string) => {
    const response = await fetch(`${gateway.url}/api/show`, { method: "POST", body: JSON.stringify({ model }) });
    return { status: response.status, body: (await response.json()) as { capabilities?: string[]; error?: string } };
  };

  before(async () => {
    gateway = await startGateway();
    outside = await openModelStore({ home: gateway.home });
  });
  after(() => gateway?.stop());

  it("a name copied, removed, then given to another digest outside the gateway is seen by the next request each time", async () => {
    assert.equal((await show("tiny")).status, 200, "resolved once, kept");
    assert.equal((await show("alias")).status, 404);
    await outside.tag("tiny", parseNamedReference("alias"));
    const copied = await show("alias");
    assert.equal(copied.status, 200);
    assert.ok(copied.body.capabilities?.includes("completion"), `tiny's own: ${JSON.stringify(copied.body.capabilities)}`);
    await outside.remove("alias");
    assert.equal((await show("alias")).status, 404);
    await outside.tag("tiny-embed", parseNamedReference("alias"));
    const moved = await show("alias");
    assert.equal(moved.status, 200);
    assert.deepEqual(moved.body.capabilities, ["embedding"], "alias is tiny-embed now");
    // Two requests in the same tick after a change outside agree.
    await outside.remove("alias");
    const [one, two] = await Promise.all([show("alias"), show("alias")]);
    assert.deepEqual([one.status, two.status], [404, 404]);
  });

  it("an index file replaced by an odd one fails requests with an error, and serves again once it is back", async () => {
    const index = outside.layout.index;
    const text = await readFile(index, "utf8");
    await rename(index, `${index}.aside`);
    await writeFile(index, "\u0000not json{");
    const odd = await show("tiny");
    assert.ok(odd.status >= 400, `status ${odd.status}`);
    assert.equal(typeof odd.body.error, "string");
    await rename(`${index}.aside`, index);
    assert.equal(await readFile(index, "utf8"), text);
    assert.equal((await show("tiny")).status, 200);
  });
});
