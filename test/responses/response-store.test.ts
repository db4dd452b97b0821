import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { startResponse } from "../../src/responses/response-object.ts";
import { createResponseStore, type StoredResponse } from "../../src/responses/response-store.ts";

const entry = (id: string): StoredResponse => ({
  response: startResponse({ model: "tiny", input: "Hi" }, id, new Date(0)),
  inputItems: [],
  conversation: [{ role: "user", content: "Hi" }],
});

describe("the response store", () => {
  test("keeps at most maxEntries, dropping the oldest first", () => {
    const store = createResponseStore({ maxEntries: 2, maxAgeMs: 60_000 });
    for (const id of ["resp_a", "resp_b", "resp_c"]) store.put(entry(id));
    assert.equal(store.get("resp_a"), undefined);
    assert.equal(store.get("resp_b")?.response.id, "resp_b");
    assert.equal(store.get("resp_c")?.response.id, "resp_c");
  });

  test("forgets a response once it is older than maxAgeMs", () => {
    let now = 0;
    const store = createResponseStore({ maxEntries: 10, maxAgeMs: 1000, now: () => now });
    store.put(entry("resp_old"));
    now = 600;
    store.put(entry("resp_new"));
    now = 1000;
    assert.ok(store.get("resp_old"));
    now = 1001;
    assert.equal(store.get("resp_old"), undefined);
    assert.ok(store.get("resp_new"));
    assert.equal(store.delete("resp_old"), false);
  });

  test("delete says whether there was one; maxEntries 0 keeps nothing", () => {
    const store = createResponseStore({ maxEntries: 5, maxAgeMs: 1000 });
    store.put(entry("resp_x"));
    assert.equal(store.delete("resp_x"), true);
    assert.equal(store.delete("resp_x"), false);
    const none = createResponseStore({ maxEntries: 0, maxAgeMs: 1000 });
    none.put(entry("resp_y"));
    assert.equal(none.get("resp_y"), undefined);
  });
});
