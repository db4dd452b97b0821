import { setTimeout as sleep } from "node:timers/promises";
import { request } from "undici";
import { startGateway, type GatewayProcess, type StartGatewayOptions } from "../../test/support/gateway.ts";

/** The command line the gateway ran one of its runners with, from its log. */
export interface RunnerCommand {
  readonly binary: string;
  readonly args: readonly string[];
  /** The runner's socket (`--host`), reachable from here like any engine. */
  readonly socket: string;
}

export interface BenchGateway extends GatewayProcess {
  /** Milliseconds from "listening" to ready: the engine located and the demo models registered. */
  readonly bootMs: number;
}

/**
 * The real gateway as a user runs it (info logging, not the tests' debug),
 * with runners kept loaded for the whole bench, once it is ready: the engine
 * binary located and the demo models in the store. Both happen at boot, in
 * the background; a request sent before waits for them, which is boot time,
 * not the cost of a cold request.
 */
export async function startBenchGateway(env: Record<string, string> = {}, options: Pick<StartGatewayOptions, "entry" | "home"> = {}): Promise<BenchGateway> {
  const gateway = await startGateway({ ...options, env: { MODELGATE_LOG_LEVEL: "info", MODELGATE_KEEP_ALIVE: "-1", ...env } });
  const listening = performance.now();
  try {
    await Promise.all([waitForEngineInstalled(gateway.url), waitForModel(gateway.url, "tiny")]);
  } catch (error) {
    await gateway.stop();
    throw error;
  }
  return Object.assign(gateway, { bootMs: performance.now() - listening });
}

async function waitForModel(url: string, name: string): Promise<void> {
  const { statusCode, body } = await request(`${url}/engines/v1/models/${name}`);
  await body.dump();
  if (statusCode !== 200) throw new Error(`the gateway does not serve ${name}: HTTP ${statusCode}`);
}

async function waitForEngineInstalled(url: string): Promise<void> {
  const deadline = performance.now() + 15 * 60_000; // a first build takes about 10 minutes
  while (performance.now() < deadline) {
    const { body } = await request(`${url}/engines/status`);
    const status = (await body.json()) as Record<string, string>;
    if (status["llama.cpp"]?.startsWith("llama-server ")) return;
    if (status["llama.cpp"]?.startsWith("installation failed")) throw new Error(status["llama.cpp"]);
    await sleep(50);
  }
  throw new Error("llama-server was not installed in time");
}

/**
 * The latest "starting llama-server" entry of the gateway's log, at or after
 * `fromIndex`, waiting up to `timeoutMs` for one to appear.
 */
export async function runnerCommand(gateway: GatewayProcess, fromIndex = 0, timeoutMs = 60_000): Promise<RunnerCommand> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const entry = gateway.logs.slice(fromIndex).findLast((line) => line.msg === "starting llama-server");
    if (entry && typeof entry.binary === "string" && Array.isArray(entry.args)) {
      const args = entry.args.map(String);
      const socket = args[args.indexOf("--host") + 1];
      if (!socket) throw new Error(`the runner's arguments name no socket: ${args.join(" ")}`);
      return { binary: entry.binary, args, socket };
    }
    if (performance.now() > deadline) throw new Error("the gateway logged no runner start");
    await sleep(20);
  }
}

/** Milliseconds on `performance.now()`'s clock at which the gateway logged `msg` (at or after `fromIndex`). */
export function loggedAt(gateway: GatewayProcess, msg: string, fromIndex = 0): number | undefined {
  const entry = gateway.logs.slice(fromIndex).find((line) => line.msg === msg);
  // Log times are wall-clock milliseconds; this process's clock started at timeOrigin.
  return typeof entry?.time === "number" ? entry.time - performance.timeOrigin : undefined;
}
