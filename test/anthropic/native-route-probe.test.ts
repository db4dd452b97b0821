/**
 * The probe of a runner's own `/v1/messages` (vLLM serves it from 0.11.1,
 * vLLM PR #22627; before, FastAPI's 404): which refusals say the route is
 * missing, and that a new runner is probed again.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createNativeRouteProbe } from "../../src/anthropic/native-route-probe.ts";
import { EngineRefusal } from "../../src/engines/engines.ts";

/** The engines' refusal; FastAPI's `{"detail": "Not Found"}` reads as a 404 without a code. */
const refusal = (status: number, code: string | null) =>
  new EngineRefusal(status, "the engine serving this model does not have this endpoint", status === 404 ? "not_found_error" : "server_error", code);

describe("the native /v1/messages probe", () => {
  test("a 404 naming no missing model or backend (FastAPI's {\"detail\": \"Not Found\"}) marks the model's runner as lacking the route", () => {
    const probe = createNativeRouteProbe();
    assert.equal(probe.native("st"), true);
    assert.equal(probe.lacking("st", refusal(404, null)), true);
    assert.equal(probe.native("st"), false);
    assert.equal(probe.native("other"), true, "per model");
  });

  test("a missing model or backend, another status, or another error says nothing about the route", () => {
    const probe = createNativeRouteProbe();
    for (const error of [refusal(404, "model_not_found"), refusal(404, "backend_not_found"), refusal(400, null), refusal(500, null), new Error("socket hang up")]) {
      assert.equal(probe.lacking("st", error), false, String(error));
    }
    assert.equal(probe.native("st"), true);
  });

  test("a new runner for the model is probed again", () => {
    const probe = createNativeRouteProbe();
    probe.lacking("st", refusal(404, null));
    probe.runnerLoaded("st");
    assert.equal(probe.native("st"), true);
  });
});
