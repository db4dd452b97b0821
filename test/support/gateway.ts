import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before } from "node:test";
import { Ollama } from "ollama";
import { spawnTied } from "./processes.ts";

export interface GatewayProcess {
  readonly url: string;
  readonly home: string;
  readonly child: ChildProcess;
  /** Every log line so far, parsed. */
  readonly logs: Record<string, unknown>[];
  /** SIGTERM, wait for exit (SIGKILL after `graceMs`), remove the temporary home (not one passed in). */
  stop(graceMs?: number): Promise<number | null>;
}

const repoRoot = new URL("../..", import.meta.url).pathname;

export interface StartGatewayOptions {
  readonly env?: Record<string, string>;
  readonly args?: string[];
  /** A `MODELGATE_HOME` to reuse (a restart); it is the caller's to remove. Default: a temporary one. */
  readonly home?: string;
  /** A command that runs the gateway in its place (it must exec it): `["prlimit", "--fsize=…", "--"]`. */
  readonly wrapper?: readonly string[];
  /** Node's arguments that run the gateway's CLI, in place of `bin/modelgate.mjs`: `["--import", "tsx/esm", "src/cli/main.ts"]`. */
  readonly entry?: readonly string[];
}

/**
 * Starts the real gateway (`bin/modelgate.mjs serve`) on a free loopback port
 * with a temporary `MODELGATE_HOME`, and resolves once it logs its address.
 */
export async function startGateway(options: StartGatewayOptions = {}): Promise<GatewayProcess> {
  const home = options.home ?? (await mkdtemp(join(tmpdir(), "modelgate-home-")));
  const [command, ...args] = [
    ...(options.wrapper ?? []),
    process.execPath, ...(options.entry ?? [join(repoRoot, "bin/modelgate.mjs")]), "serve", "--host", "127.0.0.1:0", ...(options.args ?? []),
  ];
  const child = await spawnTied(command!, args, {
    env: { ...process.env, MODELGATE_HOME: home, MODELGATE_LOG_LEVEL: "debug", ...options.env },
    stdio: ["ignore", "inherit", "pipe"],
  });
  const logs: Record<string, unknown>[] = [];
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("gateway did not start within 60 s")), 60_000);
    createInterface({ input: child.stderr! }).on("line", (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        entry = { msg: line };
      }
      logs.push(entry);
      if (typeof entry.url === "string" && /listening/.test(String(entry.msg))) {
        clearTimeout(timer);
        resolve(entry.url);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code} before listening: ${JSON.stringify(logs.slice(-5))}`));
    });
  });
  return {
    url,
    home,
    child,
    logs,
    async stop(graceMs = 10_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
        await exited.finally(() => clearTimeout(timer));
      }
      if (options.home === undefined) await rm(home, { recursive: true, force: true });
      return exited;
    },
  };
}

export interface GatewayFixture {
  readonly gateway: GatewayProcess;
  /** An ollama-js client pointed at the gateway. */
  readonly ollama: Ollama;
}

/**
 * One gateway for the enclosing suite: started in a `before` hook, stopped in
 * an `after` hook. Read its fields inside tests, once the hook has run.
 */
export function useGateway(options?: StartGatewayOptions): GatewayFixture {
  let started: GatewayFixture | undefined;
  const get = () => {
    if (!started) throw new Error("the gateway is not started yet: use it inside a test");
    return started;
  };
  before(async () => {
    const gateway = await startGateway(options);
    started = { gateway, ollama: new Ollama({ host: gateway.url }) };
  });
  after(() => started?.gateway.stop());
  return {
    get gateway() {
      return get().gateway;
    },
    get ollama() {
      return get().ollama;
    },
  };
}
