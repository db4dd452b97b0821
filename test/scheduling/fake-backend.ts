import { createServer, type Server, type ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import type { Backend, BackendConfiguration, RequiredMemory } from "../../src/inference/index.ts";

export interface FakeBackendOptions {
  readonly name?: string;
  /** How long /health answers 503 after start. */
  readonly loadMs?: number;
  /** Pause between streamed tokens. */
  readonly tokenMs?: number;
  readonly memory?: (model: string) => RequiredMemory;
  readonly checkConfiguration?: Backend["checkConfiguration"];
}

interface FakeRunner {
  readonly model: string;
  readonly socket: string;
  /** What the loader started it with. */
  readonly config: BackendConfiguration | undefined;
  readonly server: Server;
  crash(error: Error): void;
  /** Requests whose response has not ended. */
  inFlight: number;
}

/**
 * A stand-in engine speaking llama-server's protocol on the runner's socket:
 * 503 on /health while "loading", SSE chat streams of `tokens` chunks (the
 * request's `max_tokens`, 5 by default). Lets loader and proxy tests run in
 * milliseconds, without the real engine.
 */
export function createFakeBackend(options: FakeBackendOptions = {}) {
  const runners = new Map<string, FakeRunner>();
  let starts = 0;

  const backend: Backend = {
    name: options.name ?? "fake",
    usesExternalModelManagement: false,
    ...(options.checkConfiguration ? { checkConfiguration: options.checkConfiguration } : {}),
    install: async () => {},
    status: () => "running",
    diskUsage: async () => 1234,
    requiredMemoryForModel: async (_signal, model) => options.memory?.(model) ?? { ram: 1, vram: 0 },

    async run(signal, socket, model, _modelRef, _mode, config) {
      starts += 1;
      // Monotonic and fractional: Date.now()'s whole milliseconds let a 100 ms load end up to 1 ms early.
      const started = performance.now();
      const runner: FakeRunner = { model, socket, config, server: createServer(), crash: () => {}, inFlight: 0 };
      runner.server.on("request", (request, response) => {
        runner.inFlight += 1;
        response.on("close", () => (runner.inFlight -= 1));
        if (request.url === "/health") {
          const loaded = performance.now() - started >= (options.loadMs ?? 0);
          response.writeHead(loaded ? 200 : 503).end(loaded ? '{"status":"ok"}' : '{"error":{"code":503,"message":"Loading model"}}');
          return;
        }
        const chunks: Buffer[] = [];
        request.on("data", (chunk: Buffer) => chunks.push(chunk));
        request.on("end", () => {
          const body = JSON.parse(Buffer.concat(chunks).toString() || "{}") as { stream?: boolean; max_tokens?: number };
          void respond(response, body, options.tokenMs ?? 0, request.url ?? "");
        });
      });
      await new Promise<void>((resolve) => runner.server.listen(socket, resolve));
      runners.set(socket, runner);
      try {
        await new Promise<void>((resolve, reject) => {
          runner.crash = reject;
          signal.addEventListener("abort", () => resolve(), { once: true });
        });
      } finally {
        runners.delete(socket);
        runner.server.closeAllConnections();
        await new Promise((resolve) => runner.server.close(resolve));
      }
    },
  };

  return {
    backend,
    get starts() {
      return starts;
    },
    runners: () => [...runners.values()],
    /** Kills the runner serving `model` as a crash would: connections cut, `run` rejects. */
    crash(model: string, stderr: string) {
      const runner = [...runners.values()].find((r) => r.model === model);
      if (!runner) throw new Error(`no runner for ${model}`);
      runner.server.closeAllConnections();
      runner.crash(new Error(`fake engine crashed: ${stderr}`));
    },
  };
}

async function respond(response: ServerResponse, body: { stream?: boolean; max_tokens?: number }, tokenMs: number, url: string) {
  const tokens = body.max_tokens ?? 5;
  if (url.startsWith("/v1/embeddings")) {
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ data: [{ embedding: [0.6, 0.8] }] }));
    return;
  }
  if (!body.stream) {
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ choices: [{ message: { content: "t".repeat(tokens) } }] }));
    return;
  }
  response.writeHead(200, { "content-type": "text/event-stream" });
  for (let i = 0; i < tokens && !response.destroyed; i += 1) {
    response.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: `t${i} ` } }] })}\n\n`);
    if (tokenMs) await sleep(tokenMs);
  }
  response.end("data: [DONE]\n\n");
}
