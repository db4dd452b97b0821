import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  LoaderClosedError,
  ModelTooLargeError,
  RunnerCrashedError,
  RunnerLoadError,
  ServerBusyError,
} from "../../src/scheduling/loader-errors.ts";
import {
  initialLoaderState,
  transition,
  type Demand,
  type LoaderEffect,
  type LoaderEvent,
  type LoaderLimits,
  type LoaderState,
} from "../../src/scheduling/loader-machine.ts";
import type { RunnerKey } from "../../src/scheduling/runner-key.ts";

const GiB = 1024 ** 3;
const minute = 60_000;

const defaults: LoaderLimits = {
  memory: { ram: Infinity, vram: Infinity },
  maxLoadedRunners: Infinity,
  maxQueue: 100,
  loadTimeoutMs: 5 * minute,
  defaultKeepAliveMs: 5 * minute,
};

function keyOf(model: string, overrides: Partial<RunnerKey> = {}): RunnerKey {
  return { backend: "llama.cpp", model, mode: "completion", draft: null, config: "{}", ...overrides };
}

/** Feeds events to the machine with a hand-moved clock and keeps the state between them. */
function machine(limits: Partial<LoaderLimits> = {}) {
  let state: LoaderState = initialLoaderState({ ...defaults, ...limits });
  let now = 0;
  let nextId = 1;
  const send = (event: LoaderEvent): LoaderEffect[] => {
    const result = transition(state, event, now);
    state = result.state;
    return [...result.effects];
  };
  return {
    get state() {
      return state;
    },
    advance(ms: number) {
      now += ms;
    },
    send,
    request(model: string, options: Partial<Omit<Demand, "id">> = {}) {
      const demand: Demand = { id: nextId++, key: keyOf(model), memory: { ram: GiB, vram: 0 }, keepAliveMs: null, ...options };
      return { id: demand.id, effects: send({ type: "requested", demand }) };
    },
    /** Requests `model` and brings its runner up; returns the runner's slot and the request's id. */
    load(model: string, options: Partial<Omit<Demand, "id">> = {}) {
      const { id, effects } = this.request(model, options);
      const start = effects.find((e) => e.type === "startRunner");
      assert.ok(start, `expected ${model} to start`);
      send({ type: "ready", slot: start.slot });
      return { slot: start.slot, id };
    },
    runner(slot: number) {
      return state.runners.find((r) => r.slot === slot);
    },
  };
}

const types = (effects: readonly LoaderEffect[]) => effects.map((e) => e.type);

describe("loader state machine", () => {
  describe("lazy start and shared loads", () => {
    it("starts a runner for the first request, arming the load timeout, and grants nothing yet", () => {
      const m = machine();
      const { id, effects } = m.request("a");
      assert.deepEqual(effects, [
        { type: "startRunner", slot: 0, key: keyOf("a"), demandId: id },
        { type: "setTimer", timer: "load:0", delayMs: 5 * minute },
      ]);
      assert.equal(m.runner(0)?.phase, "loading");
    });

    it("makes every request that arrives during a load wait for that same load", () => {
      const m = machine();
      const first = m.request("a");
      const second = m.request("a");
      const third = m.request("a");
      assert.deepEqual(second.effects, []);
      assert.deepEqual(third.effects, []);
      assert.equal(m.state.runners.length, 1);
      const effects = m.send({ type: "ready", slot: 0 });
      assert.deepEqual(effects, [
        { type: "clearTimer", timer: "load:0" },
        { type: "grant", demandId: first.id, slot: 0 },
        { type: "grant", demandId: second.id, slot: 0 },
        { type: "grant", demandId: third.id, slot: 0 },
      ]);
      assert.equal(m.runner(0)?.inUse, 3);
      assert.deepEqual(m.state.queue, []);
    });

    it("grants at once when the runner is ready, clearing its idle timer", () => {
      const m = machine();
      const { slot } = m.load("a");
      m.send({ type: "released", slot });
      const { id, effects } = m.request("a");
      assert.deepEqual(effects, [
        { type: "clearTimer", timer: "idle:0" },
        { type: "grant", demandId: id, slot },
      ]);
      assert.equal(m.runner(slot)?.expiresAt, null);
    });

    it("keeps one runner per key: mode, draft model and configuration (a request's context size) make different keys", () => {
      const m = machine();
      m.request("a");
      m.request("a", { key: keyOf("a", { mode: "embedding" }) });
      m.request("a", { key: keyOf("a", { draft: "d" }) });
      m.request("a", { key: keyOf("a", { backend: "vllm" }) });
      m.request("a", { key: keyOf("a", { config: '{"context-size":512}' }) });
      m.request("a", { key: keyOf("a", { config: '{"context-size":512}' }) });
      assert.deepEqual(m.state.runners.map((r) => r.slot), [0, 1, 2, 3, 4]);
    });

    it("lets a load continue when its only client gives up, then treats the runner as idle", () => {
      const m = machine();
      const { id } = m.request("a");
      assert.deepEqual(m.send({ type: "cancelled", demandId: id }), []);
      assert.deepEqual(m.state.queue, []);
      const effects = m.send({ type: "ready", slot: 0 });
      assert.deepEqual(effects, [
        { type: "clearTimer", timer: "load:0" },
        { type: "setTimer", timer: "idle:0", delayMs: 5 * minute },
      ]);
    });
  });

  describe("keep-alive", () => {
    it("arms the idle timer when the last request ends and unloads when it fires", () => {
      const m = machine();
      const { slot } = m.load("a");
      m.request("a");
      m.advance(1000);
      assert.deepEqual(m.send({ type: "released", slot }), [], "one request still in flight");
      assert.deepEqual(m.send({ type: "released", slot }), [{ type: "setTimer", timer: "idle:0", delayMs: 5 * minute }]);
      assert.equal(m.runner(slot)?.expiresAt, 1000 + 5 * minute);
      m.advance(5 * minute);
      assert.deepEqual(m.send({ type: "timerFired", timer: "idle:0" }), [
        { type: "clearTimer", timer: "idle:0" },
        { type: "stopRunner", slot: 0 },
      ]);
      assert.equal(m.runner(slot)?.phase, "stopping");
      assert.deepEqual(m.send({ type: "exited", slot, error: null }), []);
      assert.deepEqual(m.state.runners, []);
    });

    it("ignores an idle timer that fires before the runner's expiry or while it is busy", () => {
      const m = machine();
      const { slot } = m.load("a");
      m.send({ type: "released", slot });
      m.advance(minute);
      assert.deepEqual(m.send({ type: "timerFired", timer: "idle:0" }), [], "not yet expired");
      m.request("a");
      m.advance(10 * minute);
      assert.deepEqual(m.send({ type: "timerFired", timer: "idle:0" }), [], "in use");
    });

    it("unloads as soon as the last request ends when keep-alive is 0", () => {
      const m = machine();
      const { slot } = m.load("a", { keepAliveMs: 0 });
      m.request("a", { keepAliveMs: 0 });
      assert.deepEqual(m.send({ type: "released", slot }), []);
      assert.deepEqual(m.send({ type: "released", slot }), [{ type: "stopRunner", slot }]);
    });

    it("never unloads an idle runner whose keep-alive is negative", () => {
      const m = machine();
      const { slot } = m.load("a", { keepAliveMs: -1 });
      assert.deepEqual(m.send({ type: "released", slot }), []);
      assert.equal(m.runner(slot)?.expiresAt, null);
    });

    it("takes each request's keep-alive, and keeps the runner's when a request sets none", () => {
      const m = machine({ defaultKeepAliveMs: 1000 });
      const { slot } = m.load("a");
      assert.equal(m.runner(slot)?.keepAliveMs, 1000);
      m.request("a", { keepAliveMs: 7000 });
      m.request("a");
      assert.equal(m.runner(slot)?.keepAliveMs, 7000);
    });

    it("unloads a runner that finishes loading after its only client left, when keep-alive is 0", () => {
      const m = machine({ defaultKeepAliveMs: 0 });
      const { id } = m.request("a");
      m.send({ type: "cancelled", demandId: id });
      assert.deepEqual(m.send({ type: "ready", slot: 0 }), [
        { type: "clearTimer", timer: "load:0" },
        { type: "stopRunner", slot: 0 },
      ]);
    });
  });

  describe("memory budget and eviction", () => {
    it("refuses a model that cannot fit even alone, naming both figures", () => {
      const m = machine({ memory: { ram: 4 * GiB, vram: Infinity } });
      const { id, effects } = m.request("huge", { memory: { ram: 6 * GiB, vram: 0 } });
      assert.equal(effects.length, 1);
      const [effect] = effects;
      assert.ok(effect?.type === "reject" && effect.demandId === id);
      assert.ok(effect.error instanceof ModelTooLargeError);
      assert.match(effect.error.message, /6\.0 GiB RAM.*4\.0 GiB RAM/);
      assert.deepEqual(m.state.runners, []);
    });

    it("counts VRAM as well as RAM", () => {
      const m = machine({ memory: { ram: Infinity, vram: 8 * GiB } });
      m.load("a", { memory: { ram: 0, vram: 5 * GiB } });
      const { effects } = m.request("b", { memory: { ram: 0, vram: 5 * GiB } });
      assert.deepEqual(types(effects), [], "waits: a is busy and both cannot fit");
    });

    it("loads side by side while the budget allows", () => {
      const m = machine({ memory: { ram: 2 * GiB, vram: Infinity } });
      m.load("a");
      m.load("b");
      assert.deepEqual(m.state.runners.map((r) => [r.slot, r.phase]), [[0, "ready"], [1, "ready"]]);
    });

    it("evicts the least recently used idle runner, and starts the new one once it has exited", () => {
      const m = machine({ memory: { ram: 2 * GiB, vram: Infinity } });
      const a = m.load("a");
      m.advance(10);
      const b = m.load("b");
      m.advance(10);
      m.send({ type: "released", slot: b.slot });
      m.advance(10);
      m.send({ type: "released", slot: a.slot }); // a is now the most recently used
      const { effects } = m.request("c");
      assert.deepEqual(effects, [
        { type: "clearTimer", timer: "idle:1" },
        { type: "stopRunner", slot: b.slot },
      ]);
      assert.equal(m.state.queue.length, 1, "c waits for b's memory");
      const started = m.send({ type: "exited", slot: b.slot, error: null });
      assert.deepEqual(types(started), ["startRunner", "setTimer"]);
      assert.equal(m.runner(1)?.key.model, "c", "c takes the freed slot");
    });

    it("evicts only as many idle runners as the new model needs", () => {
      const m = machine({ memory: { ram: 3 * GiB, vram: Infinity } });
      for (const model of ["a", "b", "c"]) {
        const { slot } = m.load(model);
        m.advance(10);
        m.send({ type: "released", slot });
      }
      const { effects } = m.request("d");
      assert.deepEqual(effects.filter((e) => e.type === "stopRunner"), [{ type: "stopRunner", slot: 0 }]);
      assert.deepEqual(m.send({ type: "cancelled", demandId: 999 }), [], "does not evict again while room is being made");
    });

    it("never evicts a runner in use: the request waits for a release", () => {
      const m = machine({ memory: { ram: GiB, vram: Infinity } });
      const a = m.load("a");
      const { effects } = m.request("b");
      assert.deepEqual(effects, []);
      assert.equal(m.runner(a.slot)?.phase, "ready");
      const released = m.send({ type: "released", slot: a.slot });
      assert.deepEqual(types(released), ["setTimer", "clearTimer", "stopRunner"]);
    });

    it("caps the number of loaded runners", () => {
      const m = machine({ maxLoadedRunners: 1 });
      const a = m.load("a");
      m.send({ type: "released", slot: a.slot });
      const { effects } = m.request("b");
      assert.deepEqual(types(effects), ["clearTimer", "stopRunner"]);
      assert.deepEqual(types(m.send({ type: "exited", slot: a.slot, error: null })), ["startRunner", "setTimer"]);
    });

    it("serves a ready runner while an older request waits for room, but lets no later load jump ahead", () => {
      const m = machine({ memory: { ram: 2 * GiB, vram: Infinity } });
      m.load("a");
      const big = m.request("big", { memory: { ram: 2 * GiB, vram: 0 } });
      assert.deepEqual(big.effects, [], "waits for a to be released");
      const small = m.request("small", { memory: { ram: GiB, vram: 0 } });
      assert.deepEqual(small.effects, [], "would fit, but big came first");
      const again = m.request("a");
      assert.deepEqual(types(again.effects), ["grant"]);
    });
  });

  describe("queue", () => {
    it("refuses requests past maxQueue with a busy error, counting those waiting for a load", () => {
      const m = machine({ maxQueue: 2 });
      m.request("a");
      m.request("a");
      const { id, effects } = m.request("a");
      assert.equal(effects.length, 1);
      const [effect] = effects;
      assert.ok(effect?.type === "reject" && effect.demandId === id);
      assert.ok(effect.error instanceof ServerBusyError);
      assert.match(effect.error.message, /^server busy, please try again/);
    });

    it("never queues a request that a ready runner can take", () => {
      const m = machine({ maxQueue: 1 });
      m.load("a");
      m.request("b");
      assert.deepEqual(types(m.request("a").effects), ["grant"]);
    });
  });

  describe("failures", () => {
    it("evicts a crashed runner at once, fails its requests with the engine's words, and starts afresh next time", () => {
      const m = machine();
      const { slot } = m.load("a");
      m.request("a");
      const effects = m.send({ type: "exited", slot, error: new Error("llama-server exited with signal SIGKILL\nlast words") });
      assert.equal(effects.length, 1);
      const [effect] = effects;
      assert.ok(effect?.type === "failInFlight" && effect.slot === slot);
      assert.ok(effect.error instanceof RunnerCrashedError);
      assert.match(effect.error.message, /last words/);
      assert.deepEqual(m.state.runners, []);
      assert.deepEqual(types(m.request("a").effects), ["startRunner", "setTimer"]);
      assert.equal(m.send({ type: "released", slot }).length, 0, "late releases of the dead runner are ignored");
    });

    it("fails every waiter when a runner dies while loading", () => {
      const m = machine();
      const first = m.request("a");
      const second = m.request("a");
      const effects = m.send({ type: "exited", slot: 0, error: new Error("error loading model: bad magic") });
      assert.deepEqual(effects.map((e) => e.type === "reject" && e.demandId), [false, first.id, second.id]);
      const rejection = effects[1];
      assert.ok(rejection?.type === "reject" && rejection.error instanceof RunnerLoadError);
      assert.match(rejection.error.message, /bad magic/);
      assert.deepEqual(m.state.queue, []);
    });

    it("gives up a load that shows no progress within the load timeout", () => {
      const m = machine({ loadTimeoutMs: 1000 });
      const { id } = m.request("a");
      m.advance(1000);
      const effects = m.send({ type: "timerFired", timer: "load:0" });
      assert.deepEqual(types(effects), ["reject", "clearTimer", "stopRunner"]);
      const [reject] = effects;
      assert.ok(reject?.type === "reject" && reject.demandId === id && reject.error instanceof RunnerLoadError);
      assert.match(reject.error.message, /within 1s/);
    });

    it("restarts the load timeout whenever the engine shows progress", () => {
      const m = machine({ loadTimeoutMs: 1000 });
      m.request("a");
      assert.deepEqual(m.send({ type: "progressed", slot: 0 }), [{ type: "setTimer", timer: "load:0", delayMs: 1000 }]);
      m.send({ type: "ready", slot: 0 });
      assert.deepEqual(m.send({ type: "progressed", slot: 0 }), [], "no timer once ready");
      assert.deepEqual(m.send({ type: "timerFired", timer: "load:0" }), [], "a stale load timer does nothing");
    });

    it("waits for a stopping runner to exit before starting the same key again", () => {
      const m = machine({ defaultKeepAliveMs: 0 });
      const { slot } = m.load("a");
      m.send({ type: "released", slot });
      assert.equal(m.runner(slot)?.phase, "stopping");
      assert.deepEqual(m.request("a").effects, []);
      assert.deepEqual(types(m.send({ type: "exited", slot, error: null })), ["startRunner", "setTimer"]);
    });
  });

  describe("unload and close", () => {
    it("stops matching idle runners and marks busy or loading ones to unload when done", () => {
      const m = machine();
      const idle = m.load("idle");
      m.send({ type: "released", slot: idle.slot });
      const busy = m.load("busy");
      m.request("loading");
      const effects = m.send({ type: "unloadRequested", match: () => true });
      assert.deepEqual(effects, [
        { type: "clearTimer", timer: "idle:0" },
        { type: "stopRunner", slot: idle.slot },
      ]);
      assert.equal(m.runner(busy.slot)?.keepAliveMs, 0);
      assert.deepEqual(m.send({ type: "released", slot: busy.slot }), [{ type: "stopRunner", slot: busy.slot }]);
    });

    it("leaves runners the selector does not match", () => {
      const m = machine();
      const a = m.load("a");
      m.send({ type: "released", slot: a.slot });
      assert.deepEqual(m.send({ type: "unloadRequested", match: (key) => key.model === "b" }), []);
    });

    it("on close, refuses waiting and new requests and stops every runner", () => {
      const m = machine({ maxLoadedRunners: 1 });
      const a = m.load("a");
      const waiting = m.request("b");
      const effects = m.send({ type: "closeRequested" });
      assert.deepEqual(types(effects), ["reject", "stopRunner"]);
      const [reject] = effects;
      assert.ok(reject?.type === "reject" && reject.demandId === waiting.id && reject.error instanceof LoaderClosedError);
      const late = m.request("a");
      assert.ok(late.effects[0]?.type === "reject" && late.effects[0].error instanceof LoaderClosedError);
      const exit = m.send({ type: "exited", slot: a.slot, error: null });
      assert.deepEqual(types(exit), ["failInFlight"], "the request still in flight is told");
      assert.deepEqual(m.state.runners, []);
    });
  });

  it("reuses the lowest free slot, so socket names stay few", () => {
    const m = machine();
    m.load("a");
    const b = m.load("b");
    m.load("c");
    m.send({ type: "exited", slot: b.slot, error: new Error("crash") });
    m.request("d");
    assert.equal(m.state.runners.find((r) => r.key.model === "d")?.slot, 1);
  });

  it("stops a ready runner that cannot be reached, busy or not, and starts a fresh one for the next request", () => {
    const m = machine();
    const { slot } = m.load("a");
    const effects = m.send({ type: "unreachable", slot });
    assert.deepEqual(effects.filter((e) => e.type === "stopRunner"), [{ type: "stopRunner", slot }]);
    assert.equal(m.runner(slot)?.phase, "stopping");
    const next = m.request("a");
    assert.equal(next.effects.filter((e) => e.type === "grant").length, 0, "the unreachable runner is not granted again");
    m.send({ type: "released", slot });
    const restarted = m.send({ type: "exited", slot, error: null });
    assert.ok(restarted.some((e) => e.type === "startRunner"), "a fresh runner starts once the old one is gone");
  });
});
