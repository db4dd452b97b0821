/**
 * The loader's decisions as a pure state machine: `transition(state, event,
 * now)` returns the next state and the effects a driver must carry out
 * (start or stop a runner, grant or reject a request, set or clear a timer).
 * Nothing here touches a process, a socket or a clock, so every rule is tested
 * by feeding events.
 */
import type { RequiredMemory } from "../inference/required-memory.ts";
import {
  LoaderClosedError,
  ModelTooLargeError,
  RunnerCrashedError,
  RunnerLoadError,
  ServerBusyError,
} from "./loader-errors.ts";
import { sameRunnerKey, type RunnerKey } from "./runner-key.ts";

export interface LoaderLimits {
  /** Memory runners may use together; `Infinity` when unbounded. */
  readonly memory: RequiredMemory;
  readonly maxLoadedRunners: number;
  /** Requests that may wait for a runner at once; past it they are refused. */
  readonly maxQueue: number;
  /** How long a runner may load without showing progress. */
  readonly loadTimeoutMs: number;
  /** Keep-alive of a runner whose requests set none: > 0 ms, 0 unload when idle, < 0 forever. */
  readonly defaultKeepAliveMs: number;
}

/** A request that wants a runner for `key`. */
export interface Demand {
  readonly id: number;
  readonly key: RunnerKey;
  readonly memory: RequiredMemory;
  /** Sets the runner's keep-alive when granted; null keeps the runner's own. */
  readonly keepAliveMs: number | null;
}

export type RunnerPhase = "loading" | "ready" | "stopping";

export interface Runner {
  /** Small integer naming the runner's socket; reused once the runner is gone. */
  readonly slot: number;
  readonly key: RunnerKey;
  readonly phase: RunnerPhase;
  /** Requests granted and not yet released. */
  readonly inUse: number;
  readonly memory: RequiredMemory;
  readonly keepAliveMs: number;
  readonly lastUsed: number;
  /** When an idle runner with a finite keep-alive will be unloaded. */
  readonly expiresAt: number | null;
}

export interface LoaderState {
  readonly limits: LoaderLimits;
  readonly runners: readonly Runner[];
  /** Demands waiting for a runner, oldest first. */
  readonly queue: readonly Demand[];
  readonly closed: boolean;
}

export type TimerId = `load:${number}` | `idle:${number}`;

export type LoaderEvent =
  | { readonly type: "requested"; readonly demand: Demand }
  /** The client gave up waiting. */
  | { readonly type: "cancelled"; readonly demandId: number }
  | { readonly type: "released"; readonly slot: number }
  /** The runner answered its health check. */
  | { readonly type: "ready"; readonly slot: number }
  /** The loading runner showed signs of life (log output): its load timeout starts over. */
  | { readonly type: "progressed"; readonly slot: number }
  /** The runner's process is gone; `error` when it failed rather than was stopped. */
  | { readonly type: "exited"; readonly slot: number; readonly error: Error | null }
  /** A request could not reach the ready runner (its socket gone): it is stopped, to be replaced. */
  | { readonly type: "unreachable"; readonly slot: number }
  | { readonly type: "timerFired"; readonly timer: TimerId }
  | { readonly type: "unloadRequested"; readonly match: (key: RunnerKey) => boolean }
  | { readonly type: "closeRequested" };

export type LoaderEffect =
  /** Start a runner for `key`, built from what `demandId` asked for. */
  | { readonly type: "startRunner"; readonly slot: number; readonly key: RunnerKey; readonly demandId: number }
  | { readonly type: "stopRunner"; readonly slot: number }
  /** The runner died under its requests: fail them with `error`. */
  | { readonly type: "failInFlight"; readonly slot: number; readonly error: Error }
  | { readonly type: "grant"; readonly demandId: number; readonly slot: number }
  | { readonly type: "reject"; readonly demandId: number; readonly error: Error }
  /** Set (or reset) a timer, then send `timerFired` when it expires. */
  | { readonly type: "setTimer"; readonly timer: TimerId; readonly delayMs: number }
  | { readonly type: "clearTimer"; readonly timer: TimerId };

export interface Transition {
  readonly state: LoaderState;
  readonly effects: readonly LoaderEffect[];
}

export function initialLoaderState(limits: LoaderLimits): LoaderState {
  return { limits, runners: [], queue: [], closed: false };
}

/** The runner serving `key`, whatever its phase. */
export function runnerFor(state: LoaderState, key: RunnerKey): Runner | undefined {
  return state.runners.find((runner) => sameRunnerKey(runner.key, key));
}

/** Computes the state after `event` at time `now`, and what must be done about it. */
export function transition(state: LoaderState, event: LoaderEvent, now: number): Transition {
  const draft: Draft = { ...state, runners: [...state.runners], queue: [...state.queue], effects: [], now };
  apply(draft, event);
  if (!draft.closed) schedule(draft);
  return { state: { limits: draft.limits, runners: draft.runners, queue: draft.queue, closed: draft.closed }, effects: draft.effects };
}

/** The state being built by one transition. */
interface Draft {
  limits: LoaderLimits;
  runners: Runner[];
  queue: Demand[];
  closed: boolean;
  effects: LoaderEffect[];
  now: number;
}

function apply(draft: Draft, event: LoaderEvent): void {
  switch (event.type) {
    case "requested":
      return request(draft, event.demand);
    case "cancelled":
      draft.queue = draft.queue.filter((demand) => demand.id !== event.demandId);
      return;
    case "released":
      return release(draft, event.slot);
    case "ready":
      return becomeReady(draft, event.slot);
    case "progressed":
      if (find(draft, event.slot)?.phase === "loading") setLoadTimer(draft, event.slot);
      return;
    case "exited":
      return exited(draft, event.slot, event.error);
    case "unreachable": {
      const runner = find(draft, event.slot);
      if (runner?.phase === "ready") stop(draft, runner); // busy or not: its requests fail as this one did
      return;
    }
    case "timerFired":
      return timerFired(draft, event.timer);
    case "unloadRequested":
      return unload(draft, event.match);
    case "closeRequested":
      return close(draft);
  }
}

function request(draft: Draft, demand: Demand): void {
  const reject = (error: Error): void => void draft.effects.push({ type: "reject", demandId: demand.id, error });
  if (draft.closed) return reject(new LoaderClosedError());
  if (!fitsWithin(demand.memory, draft.limits.memory)) {
    return reject(new ModelTooLargeError(demand.memory, draft.limits.memory));
  }
  const runner = draft.runners.find((r) => sameRunnerKey(r.key, demand.key));
  if (runner?.phase === "ready") return grant(draft, runner.slot, demand);
  if (draft.queue.length >= draft.limits.maxQueue) return reject(new ServerBusyError(draft.limits.maxQueue));
  draft.queue.push(demand);
}

function grant(draft: Draft, slot: number, demand: Demand): void {
  const runner = find(draft, slot)!;
  if (runner.expiresAt !== null) draft.effects.push({ type: "clearTimer", timer: `idle:${runner.slot}` });
  update(draft, runner.slot, {
    inUse: runner.inUse + 1,
    lastUsed: draft.now,
    expiresAt: null,
    keepAliveMs: demand.keepAliveMs ?? runner.keepAliveMs,
  });
  draft.effects.push({ type: "grant", demandId: demand.id, slot: runner.slot });
}

function release(draft: Draft, slot: number): void {
  const runner = find(draft, slot);
  if (!runner || runner.inUse === 0) return;
  const released = update(draft, slot, { inUse: runner.inUse - 1, lastUsed: draft.now });
  if (released.inUse === 0 && released.phase === "ready") becomeIdle(draft, released);
}

/** A ready runner with nothing to do: unload it now, later, or never, as its keep-alive says. */
function becomeIdle(draft: Draft, runner: Runner): void {
  if (runner.keepAliveMs === 0) return stop(draft, runner);
  if (runner.keepAliveMs < 0) return;
  update(draft, runner.slot, { expiresAt: draft.now + runner.keepAliveMs });
  draft.effects.push({ type: "setTimer", timer: `idle:${runner.slot}`, delayMs: runner.keepAliveMs });
}

function becomeReady(draft: Draft, slot: number): void {
  const runner = find(draft, slot);
  if (runner?.phase !== "loading") return;
  draft.effects.push({ type: "clearTimer", timer: `load:${slot}` });
  update(draft, slot, { phase: "ready" });
  for (const demand of takeDemandsFor(draft, runner.key)) grant(draft, slot, demand);
  const ready = find(draft, slot);
  if (ready && ready.inUse === 0) becomeIdle(draft, ready);
}

function exited(draft: Draft, slot: number, error: Error | null): void {
  const runner = find(draft, slot);
  if (!runner) return;
  draft.runners = draft.runners.filter((r) => r.slot !== slot);
  if (runner.phase === "loading") {
    draft.effects.push({ type: "clearTimer", timer: `load:${slot}` });
    const failure = new RunnerLoadError(`the runner failed while loading: ${error?.message ?? "it exited"}`, { cause: error });
    rejectDemandsFor(draft, runner.key, failure);
  }
  if (runner.expiresAt !== null) draft.effects.push({ type: "clearTimer", timer: `idle:${slot}` });
  if (runner.inUse > 0) {
    const message = error?.message ?? (runner.phase === "stopping" ? "the runner was stopped" : "the runner exited unexpectedly");
    draft.effects.push({ type: "failInFlight", slot, error: new RunnerCrashedError(message, { cause: error }) });
  }
}

function timerFired(draft: Draft, timer: TimerId): void {
  const [kind, slotText] = timer.split(":");
  const runner = find(draft, Number(slotText));
  if (!runner) return;
  if (kind === "load" && runner.phase === "loading") {
    const seconds = draft.limits.loadTimeoutMs / 1000;
    rejectDemandsFor(draft, runner.key, new RunnerLoadError(`the runner did not become ready within ${seconds}s`));
    stop(draft, runner);
  }
  const expired = runner.expiresAt !== null && draft.now >= runner.expiresAt;
  if (kind === "idle" && runner.phase === "ready" && runner.inUse === 0 && expired) stop(draft, runner);
}

/** Busy or loading runners are marked to unload once their last request ends. */
function unload(draft: Draft, match: (key: RunnerKey) => boolean): void {
  for (const runner of draft.runners.filter((r) => r.phase !== "stopping" && match(r.key))) {
    if (runner.phase === "ready" && runner.inUse === 0) stop(draft, runner);
    else update(draft, runner.slot, { keepAliveMs: 0 });
  }
}

function close(draft: Draft): void {
  draft.closed = true;
  for (const demand of draft.queue) draft.effects.push({ type: "reject", demandId: demand.id, error: new LoaderClosedError() });
  draft.queue = [];
  for (const runner of draft.runners.filter((r) => r.phase !== "stopping")) stop(draft, runner);
}

function stop(draft: Draft, runner: Runner): void {
  if (runner.phase === "loading") draft.effects.push({ type: "clearTimer", timer: `load:${runner.slot}` });
  if (runner.expiresAt !== null) draft.effects.push({ type: "clearTimer", timer: `idle:${runner.slot}` });
  update(draft, runner.slot, { phase: "stopping", expiresAt: null });
  draft.effects.push({ type: "stopRunner", slot: runner.slot });
}

/**
 * Starts runners for waiting demands, oldest first, evicting least recently
 * used idle runners to make room. A demand that must wait for room blocks the
 * loads of those behind it, so a large model is not starved by small ones.
 */
function schedule(draft: Draft): void {
  let blocked = false;
  for (const demand of draft.queue) {
    if (draft.runners.some((r) => sameRunnerKey(r.key, demand.key))) continue; // loading, or stopping before a fresh start
    if (blocked) continue;
    blocked = !place(draft, demand);
  }
}

/** Starts a runner for `demand` if there is room; otherwise makes room if it can. */
function place(draft: Draft, demand: Demand): boolean {
  if (hasRoom(draft.runners, demand.memory, draft.limits)) {
    start(draft, demand);
    return true;
  }
  const staying = draft.runners.filter((r) => r.phase !== "stopping");
  if (hasRoom(staying, demand.memory, draft.limits)) return false; // room is being made
  const idle = staying
    .filter((r) => r.phase === "ready" && r.inUse === 0)
    .sort((a, b) => a.lastUsed - b.lastUsed || a.slot - b.slot);
  const victims: Runner[] = [];
  for (const runner of idle) {
    victims.push(runner);
    if (hasRoom(staying.filter((r) => !victims.includes(r)), demand.memory, draft.limits)) {
      victims.forEach((victim) => stop(draft, victim));
      return false;
    }
  }
  return false; // every runner in the way is busy: wait for a release
}

function start(draft: Draft, demand: Demand): void {
  const slot = freeSlot(draft.runners);
  draft.runners.push({
    slot,
    key: demand.key,
    phase: "loading",
    inUse: 0,
    memory: demand.memory,
    keepAliveMs: demand.keepAliveMs ?? draft.limits.defaultKeepAliveMs,
    lastUsed: draft.now,
    expiresAt: null,
  });
  draft.effects.push({ type: "startRunner", slot, key: demand.key, demandId: demand.id });
  setLoadTimer(draft, slot);
}

function setLoadTimer(draft: Draft, slot: number): void {
  draft.effects.push({ type: "setTimer", timer: `load:${slot}`, delayMs: draft.limits.loadTimeoutMs });
}

function hasRoom(runners: readonly Runner[], need: RequiredMemory, limits: LoaderLimits): boolean {
  const used = runners.reduce((sum, r) => ({ ram: sum.ram + r.memory.ram, vram: sum.vram + r.memory.vram }), { ram: 0, vram: 0 });
  return runners.length < limits.maxLoadedRunners && fitsWithin({ ram: used.ram + need.ram, vram: used.vram + need.vram }, limits.memory);
}

function fitsWithin(need: RequiredMemory, budget: RequiredMemory): boolean {
  return need.ram <= budget.ram && need.vram <= budget.vram;
}

function freeSlot(runners: readonly Runner[]): number {
  let slot = 0;
  while (runners.some((r) => r.slot === slot)) slot += 1;
  return slot;
}

function takeDemandsFor(draft: Draft, key: RunnerKey): Demand[] {
  const taken = draft.queue.filter((demand) => sameRunnerKey(demand.key, key));
  draft.queue = draft.queue.filter((demand) => !sameRunnerKey(demand.key, key));
  return taken;
}

function rejectDemandsFor(draft: Draft, key: RunnerKey, error: Error): void {
  for (const demand of takeDemandsFor(draft, key)) draft.effects.push({ type: "reject", demandId: demand.id, error });
}

function find(draft: Draft, slot: number): Runner | undefined {
  return draft.runners.find((r) => r.slot === slot);
}

function update(draft: Draft, slot: number, patch: Partial<Omit<Runner, "slot" | "key">>): Runner {
  const index = draft.runners.findIndex((r) => r.slot === slot);
  const next = { ...draft.runners[index]!, ...patch };
  draft.runners[index] = next;
  return next;
}
