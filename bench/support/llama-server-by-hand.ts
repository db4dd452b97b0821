import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Agent, request } from "undici";

/** A llama-server started by the bench itself: the engine with nothing in front of it. */
export interface HandStartedLlamaServer {
  readonly socket: string;
  readonly dispatcher: Agent;
  /** Milliseconds from spawn to the first `/health` 200. */
  readonly readyMs: number;
  stop(): Promise<void>;
}

/** The same command line with `--host` pointing at another socket. */
export function argumentsOnSocket(args: readonly string[], socket: string): string[] {
  const host = args.indexOf("--host");
  if (host < 0 || host + 1 >= args.length) throw new Error(`no --host in ${args.join(" ")}`);
  return args.map((arg, index) => (index === host + 1 ? socket : arg));
}

/**
 * Spawns `binary args` (its `--host` replaced by a fresh socket) and polls
 * `/health` every `pollMs` until it answers 200. The poll is tight on purpose:
 * this is the engine's own start, the floor the gateway is measured against.
 *
 * @throws Error with the engine's last output if it exits before it is healthy
 */
export async function startLlamaServerByHand(
  binary: string,
  args: readonly string[],
  options: { pollMs?: number } = {},
): Promise<HandStartedLlamaServer> {
  const dir = await mkdtemp(join(tmpdir(), "modelgate-bench-engine-"));
  const socket = join(dir, "engine.sock");
  const started = performance.now();
  const child = spawn(binary, argumentsOnSocket(args, socket), { stdio: ["ignore", "ignore", "pipe"] });
  let outputTail = "";
  child.stderr.on("data", (data: Buffer) => (outputTail = (outputTail + data.toString()).slice(-2_000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const dispatcher = new Agent({ connect: { socketPath: socket }, keepAliveTimeout: 60_000 });

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited.finally(() => clearTimeout(killer));
    }
    await dispatcher.close().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  };

  try {
    while (!(await isHealthy(dispatcher))) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`llama-server exited before it was healthy:\n${outputTail}`);
      await sleep(options.pollMs ?? 2);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { socket, dispatcher, readyMs: performance.now() - started, stop };
}

async function isHealthy(dispatcher: Agent): Promise<boolean> {
  try {
    const { statusCode, body } = await request("http://engine/health", { dispatcher });
    await body.dump();
    return statusCode === 200;
  } catch {
    return false; // no socket yet, or refused: still starting
  }
}
