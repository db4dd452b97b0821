import type { Hono } from "hono";
import { homedir, tmpdir } from "node:os";
import type { Logger } from "pino";
import { collectDefaultMetrics, Registry } from "prom-client";
import { ensureFixtureModels } from "../../fixtures/generate.ts";
import { createAnthropicApp } from "../anthropic/anthropic-app.ts";
import { createResponsesApp } from "../responses/responses-app.ts";
import { createLlamaCppBackend } from "../backends/llamacpp/backend.ts";
import { describeInstallProgress } from "../backends/llamacpp/install.ts";
import { createVllmBackend } from "../backends/vllm/backend.ts";
import { engineCacheDir } from "../backends/cache-dir.ts";
import type { ModelResolver } from "../models/model-resolver.ts";
import { createModelsApp } from "../models/models-app.ts";
import { createRemotePolicy } from "../models/remote-policy.ts";
import { createStoredModels } from "../models/stored-models.ts";
import { createModelDistribution } from "../models/store/model-distribution.ts";
import { registerDemoModels } from "../models/store/demo-models.ts";
import { createModelConfigurations } from "../models/store/model-configurations.ts";
import { openModelStore } from "../models/store/model-store.ts";
import { createOpenAILayers } from "../ollama/openai-layers.ts";
import { createOllamaApp } from "../ollama/ollama-app.ts";
import { createOllamaModelManagementApp } from "../ollama/model-management/model-management-app.ts";
import { createEngineMetrics } from "../scheduling/engine-metrics.ts";
import { createEnginesApp } from "../scheduling/engines-app.ts";
import { createScheduledEngines } from "../scheduling/scheduled-engines.ts";
import { readExternalEngines } from "../scheduling/external/external-config.ts";
import { createExternalEngine } from "../scheduling/external/external-engine.ts";
import { createExternalEngines } from "../scheduling/external/external-engines.ts";
import { createExternalMetrics } from "../scheduling/external/external-metrics.ts";
import { createLoader, type Loader } from "../scheduling/loader.ts";
import { detectMemoryBudget } from "../scheduling/memory-budget.ts";
import { prepareRunnersDir } from "../scheduling/runners-dir.ts";
import { installDirectory } from "../utilities/install-directory.ts";
import { createApp } from "./app.ts";
import type { Config } from "./config.ts";
import type { LogBuffer } from "./log-buffer.ts";
import { lockHome } from "./home-lock.ts";
import { createLogsApp } from "./logs-app.ts";

export interface Gateway {
  readonly app: Hono;
  /** Stops every runner and resolves once all are gone. */
  close(): Promise<void>;
}

/**
 * Assembles the gateway: the model store, the llama.cpp and vLLM backends, the loader,
 * the engines API and the Ollama layer on top of it. The engine is located
 * (or built, the first time) and the demo models registered in the
 * background, so the server answers at once; requests that need them wait.
 * Runners' stderr goes to `logs`, with the logger's lines.
 */
export async function createGateway(config: Config, logger: Logger, logs: LogBuffer): Promise<Gateway> {
  // First: the runners directory below is cleaned of the sockets a previous gateway left.
  const homeLock = await lockHome(config.home);
  const externalConfigs = await readExternalEngines(process.env, config.home);
  const store = await openModelStore({ home: config.home });
  const demoModels = ensureFixtureModels({ onProgress: (line) => logger.info({ component: "demo models" }, line) })
    .then((paths) => registerDemoModels(store, paths))
    .catch((error: unknown) => logger.error({ err: error }, "the demo models could not be registered"));
  // Requests wait for the demo models while they are registered; after that, not even a turn of the microtask queue.
  let demoModelsDone = false;
  void demoModels.then(() => (demoModelsDone = true));
  const resolver: ModelResolver = {
    resolve: (reference) => (demoModelsDone ? store.resolve(reference) : demoModels.then(() => store.resolve(reference))),
    list: () => (demoModelsDone ? store.list() : demoModels.then(() => store.list())),
  };
  // The backend reports engine output to the loader (a load still making
  // progress keeps its timeout), yet the loader is built from the backend.
  let loader: Loader | undefined;
  const backend = createLlamaCppBackend({
    locateModel: async (reference) => {
      const { paths, summary, projectorPath } = await resolver.resolve(reference);
      const [ggufPath] = paths;
      if (!ggufPath) throw new Error(`model ${reference} has no GGUF file`);
      // A projector (Ollama's or Docker Model Runner's layer) goes to llama-server as --mmproj.
      return { ggufPath, summary, ...(projectorPath ? { mmprojPath: projectorPath } : {}) };
    },
    logger,
    onLog: (line, runner) => {
      loader?.engineOutput(runner.socket);
      logs.runnerLine(`${runner.socket}\0${runner.model}\0${runner.mode}`, { model: runner.modelRef, mode: runner.mode }, line);
    },
    onInstallProgress: (progress) =>
      logger.info({ component: "llama.cpp", stage: progress.stage, percent: progress.percent }, describeInstallProgress(progress)),
  });
  // Read before the loader exists, so the first request already runs as configured.
  const configurations = createModelConfigurations(store.layout, logger);
  const memory = await detectMemoryBudget();
  const vllm = createVllmBackend({
    gpuMemory: memory.vram,
    locateModel: async (reference) => {
      const model = await resolver.resolve(reference);
      return { name: model.name, format: model.format, path: model.paths[0], size: model.size };
    },
    logger,
    onLog: (_line, runner) => loader?.engineOutput(runner.socket),
  });
  const registry = new Registry();
  // The process's own health (memory, event-loop delay p50/p99, handles) next to the engines' figures.
  // Its event-loop probe is a timer: at 100 ms rather than prom-client's 10, a gateway at rest wakes 10 times a second, not 100.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 100 });
  const metrics = createEngineMetrics(registry);
  loader = createLoader({
    backends: [backend, vllm],
    resolver,
    runnersDir: await prepareRunnersDir(config.home, logger),
    logger,
    memory,
    keepAliveMs: config.keepAliveMs,
    ...(config.maxLoadedModels === undefined ? {} : { maxLoadedRunners: config.maxLoadedModels }),
    ...(config.maxQueue === undefined ? {} : { maxQueue: config.maxQueue }),
    ...(config.contextLength === undefined ? {} : { defaultContextSize: config.contextLength }),
    ...(config.loadTimeoutMs === undefined ? {} : { loadTimeoutMs: config.loadTimeoutMs }),
    onRunnerEvent: (event) => metrics.runnerEvent(event),
    configurations: { stored: await configurations.readAll(), save: configurations.write },
  });
  const clash = externalConfigs.find((engine) => loader.backends.has(engine.name));
  if (clash) throw new Error(`external engine "${clash.name}" has the name of a local backend`);
  const externalMetrics = createExternalMetrics(registry);
  const external = createExternalEngines(
    externalConfigs.map((engine) => createExternalEngine({ config: engine, logger, metrics: externalMetrics })),
  );
  // One contract, which the dialects call and the /engines routes serve over HTTP.
  const contract = createScheduledEngines({ loader, resolver, metrics, external });
  const engines = createEnginesApp({ engines: contract, loader, resolver, logger, external, maxBodyBytes: config.maxBodyBytes });
  const models = createModelsApp({
    store,
    logger,
    distribution: createModelDistribution({ store, policy: createRemotePolicy({ allowedHosts: config.allowedRegistries }) }),
    unload: async (model) => void (await loader.unload({ models: [model.id] })),
  });
  // The models contract, which the Ollama layer reads each request's Modelfile layers from; /models is its HTTP face.
  const layers = createStoredModels(store);
  const ollama = createOllamaApp({ engines: contract, layers, models: models.fetch, logger });
  const anthropic = createAnthropicApp({ engines: contract, logger });
  const responses = createResponsesApp({
    engines: contract,
    logger,
    store: { maxEntries: config.responsesMaxStored, maxAgeMs: config.responsesMaxAgeMs },
  });
  const ollamaModelManagement = createOllamaModelManagementApp({ models: models.fetch, logger });

  backend.install(AbortSignal.timeout(60 * 60_000), fetch).catch((error: unknown) => {
    logger.error({ err: error }, "llama-server is not available; requests will retry the install");
  });

  vllm.install(AbortSignal.timeout(60_000), fetch).catch((error: unknown) => {
    logger.info({ component: "vllm" }, `safetensors models cannot run: ${(error as Error).message}`);
  });

  return {
    app: createApp({
      engines,
      models,
      ollama: [ollamaModelManagement, ollama],
      openAILayers: createOpenAILayers(layers),
      anthropic,
      responses,
      metrics: registry,
      access: {
        maxBodyBytes: config.maxBodyBytes,
        maxBufferedBytes: config.maxBufferedBytes,
        apiKey: config.apiKey,
        origins: config.origins,
        listenHostname: config.listen.hostname,
        hosts: config.allowedHosts,
      },
      logs: createLogsApp(logs),
      logger,
      privateDirectories: [
        [config.home, "$MODELGATE_HOME"],
        [engineCacheDir(), "$ENGINE_CACHE"],
        [installDirectory, "$MODELGATE_INSTALL"],
        [homedir(), "~"],
        [tmpdir(), "$TMPDIR"],
      ],
    }),
    close: async () => {
      await Promise.all([loader.close(), external.close()]);
      await homeLock.release();
    },
  };
}
