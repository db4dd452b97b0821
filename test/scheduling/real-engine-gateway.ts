import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import OpenAI from "openai";
import { pino } from "pino";
import { Agent, request } from "undici";
import { ensureFixtureModels } from "../../fixtures/generate.ts";
import { createLlamaCppBackend } from "../../src/backends/llamacpp/backend.ts";
import type { Backend } from "../../src/inference/index.ts";
import { createFixtureModelResolver } from "../../src/models/model-resolver.ts";
import { createEngineMetrics, type EngineMetrics } from "../../src/scheduling/engine-metrics.ts";
import { createEnginesApp } from "../../src/scheduling/engines-app.ts";
import { createLoader, type Loader, type LoaderOptions } from "../../src/scheduling/loader.ts";
import { prepareRunnersDir, runnerSocketPath } from "../../src/scheduling/runners-dir.ts";
import { listen } from "../../src/server/serve.ts";
import { llamaServerForTests } from "../support/engine.ts";

export interface RealEngineGateway {
  /** `http://127.0.0.1:<port>`, engines at `/engines`. */
  readonly url: string;
  readonly openai: OpenAI;
  readonly loader: Loader;
  /** The engines layer's metrics, as `/metrics` would show them. */
  readonly metrics: EngineMetrics;
  readonly runnersDir: string;
  /** pids of every llama-server started, by socket. */
  readonly pids: Map<string, number>;
  /** GET on a runner's own socket (`/slots`, `/metrics`). */
  runnerGet(slot: number, path: string): Promise<unknown>;
  close(): Promise<void>;
}

export interface RealEngineGatewayOptions extends Partial<Pick<LoaderOptions, "memory" | "maxLoadedRunners" | "maxQueue" | "keepAliveMs">> {
  /** Replaces the engine's memory estimate, so budgets are exact in tests. */
  readonly memoryOf?: (modelId: string) => { ram: number; vram: number };
}

/**
 * The engines layer in front of the real llama-server and the generated tiny
 * models, served on a free loopback port as the gateway serves it.
 */
export async function startRealEngineGateway(options: RealEngineGatewayOptions = {}): Promise<RealEngineGateway> {
  await llamaServerForTests();
  const fixtures = await ensureFixtureModels();
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
  const resolver = createFixtureModelResolver({ fixtures: async () => fixtures });
  const home = await mkdtemp(join(tmpdir(), "mg-e2e-"));
  const runnersDir = await prepareRunnersDir(home, logger);
  const pids = new Map<string, number>();
  let loader: Loader | undefined;
  const llamaCpp = createLlamaCppBackend({
    locateModel: async (reference) => ({ ggufPath: (await resolver.resolve(reference)).paths[0] }),
    logger,
    onSpawn: ({ pid, socket }) => pids.set(socket, pid),
    onLog: (_line, runner) => loader?.engineOutput(runner.socket),
  });
  const { memoryOf } = options;
  const backend: Backend = memoryOf
    ? { ...llamaCpp, name: llamaCpp.name, requiredMemoryForModel: async (_signal, model) => memoryOf(model) }
    : llamaCpp;
  const metrics = createEngineMetrics();
  loader = createLoader({ backends: [backend], resolver, runnersDir, logger, onRunnerEvent: metrics.runnerEvent, ...options });
  const engines = createEnginesApp({ loader, resolver, logger, metrics });
  const app = new Hono();
  app.route("/engines", engines);
  const server = await listen(app, { hostname: "127.0.0.1", port: 0 });
  const agents = new Map<number, Agent>();
  const openLoader = loader;

  return {
    url: server.url,
    openai: new OpenAI({ baseURL: `${server.url}/engines/v1`, apiKey: "unused", maxRetries: 0, timeout: 60_000 }),
    loader: openLoader,
    metrics,
    runnersDir,
    pids,
    async runnerGet(slot, path) {
      let agent = agents.get(slot);
      if (!agent) agents.set(slot, (agent = new Agent({ connect: { socketPath: runnerSocketPath(runnersDir, slot) } })));
      const { body } = await request(`http://runner${path}`, { dispatcher: agent });
      return body.json();
    },
    async close() {
      await openLoader.close();
      await server.close();
      await Promise.all([...agents.values()].map((agent) => agent.close()));
      await rm(home, { recursive: true, force: true });
    },
  };
}
