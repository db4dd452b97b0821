/**
 * The Ollama layer in front of the real engines layer, the real llama-server
 * and the generated fixture models, composed in-process and served on a free
 * loopback port: `createOllamaApp({ engines: enginesApp.fetch })` mounted at
 * `/api`, as the gateway mounts it.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { pino } from "pino";
import { ensureFixtureModels } from "../../../fixtures/generate.ts";
import { createLlamaCppBackend } from "../../../src/backends/llamacpp/backend.ts";
import { readGGUF, summarizeGGUF } from "../../../src/models/gguf.ts";
import { createFixtureModelResolver } from "../../../src/models/model-resolver.ts";
import { createOllamaApp } from "../../../src/ollama/ollama-app.ts";
import { createEnginesApp } from "../../../src/scheduling/engines-app.ts";
import { createLoader } from "../../../src/scheduling/loader.ts";
import { prepareRunnersDir } from "../../../src/scheduling/runners-dir.ts";
import { llamaServerForTests } from "../../support/engine.ts";

export interface OllamaStack {
  /** `http://127.0.0.1:<port>`, the Ollama host clients are given. */
  readonly url: string;
  close(): Promise<void>;
}

/** The CPU build this machine prepares, used when nothing else names an engine. */
const preparedEngine = "/tmp/nlc/llama.cpp/build/bin/llama-server";

export async function startOllamaStack(): Promise<OllamaStack> {
  if (!process.env.LLAMA_SERVER_PATH && existsSync(preparedEngine)) process.env.LLAMA_SERVER_PATH = preparedEngine;
  await llamaServerForTests();
  const fixtures = await ensureFixtureModels();
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
  const resolver = createFixtureModelResolver({
    fixtures: async () => fixtures,
    summarize: async (path) => summarizeGGUF(await readGGUF(path)),
  });
  const home = await mkdtemp(join(tmpdir(), "modelgate-ollama-"));
  const backend = createLlamaCppBackend({
    locateModel: async (reference) => ({ ggufPath: (await resolver.resolve(reference)).paths[0] }),
    logger,
  });
  const loader = createLoader({ backends: [backend], resolver, runnersDir: await prepareRunnersDir(home), logger });
  const engines = createEnginesApp({ loader, resolver, logger });
  const app = new Hono();
  app.route("/api", createOllamaApp({ engines: engines.fetch, logger }));

  const server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Clients keep connections alive; the test is over, so are they.
      if ("closeAllConnections" in server) server.closeAllConnections();
      await closed;
      await loader.close();
      await rm(home, { recursive: true, force: true });
    },
  };
}
