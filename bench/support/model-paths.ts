import { Agent, request } from "undici";
import type { GatewayProcess } from "../../test/support/gateway.ts";
import { runnerCommand, startBenchGateway, type RunnerCommand } from "./bench-gateway.ts";
import { startLlamaServerByHand, type HandStartedLlamaServer } from "./llama-server-by-hand.ts";
import { startMinimalProxy, type MinimalProxy } from "./minimal-proxy.ts";
import { timeOrCountFailure } from "./interleaved-comparison.ts";
import { timeStreamedRequest, type StreamTarget } from "./streamed-request.ts";

/** The one request every path is asked, so the engine does the same work on each. */
export interface BenchPrompt {
  readonly prompt: string;
  readonly maxTokens: number;
  readonly seed: number;
}

export const defaultPrompt: BenchPrompt = { prompt: "Tell me a story about a lighthouse keeper.", maxTokens: 32, seed: 42 };

/** The served name of the fixture chat model. */
const model = "tiny";

/** OpenAI's form, as the Ollama layer itself sends it to the engines (usage included). */
export function openAIChatBody({ prompt, maxTokens, seed }: BenchPrompt): string {
  return JSON.stringify({
    model,
    messages: [{ role: "user", content: prompt }],
    stream: true,
    stream_options: { include_usage: true },
    temperature: 0,
    seed,
    max_tokens: maxTokens,
  });
}

export function ollamaChatBody({ prompt, maxTokens, seed }: BenchPrompt): string {
  return JSON.stringify({ model, messages: [{ role: "user", content: prompt }], stream: true, options: { temperature: 0, seed, num_predict: maxTokens } });
}

/** Anthropic's Messages form; greedy sampling makes the seed moot. */
export function anthropicMessagesBody({ prompt, maxTokens }: BenchPrompt): string {
  return JSON.stringify({ model, max_tokens: maxTokens, messages: [{ role: "user", content: prompt }], stream: true, temperature: 0 });
}

/** OpenAI's Responses form, not stored (the store would grow over a bench). */
export function responsesBody({ prompt, maxTokens }: BenchPrompt): string {
  return JSON.stringify({ model, input: prompt, stream: true, temperature: 0, max_output_tokens: maxTokens, store: false });
}

export const pathNames = {
  engines: "gateway /engines",
  ollama: "gateway /api/chat",
  runner: "runner socket",
  minimal: "minimal proxy",
  direct: "llama-server",
} as const;

/**
 * Every way the bench reaches the fixture chat model, warm: the gateway's
 * engines API and Ollama API, the gateway's own runner on its socket (the
 * very process the gateway forwards to), and a llama-server started by hand
 * with the runner's exact command line.
 */
export interface ModelPaths {
  readonly gateway: GatewayProcess;
  readonly runner: RunnerCommand;
  readonly direct: HandStartedLlamaServer;
  /** The yardstick: the thinnest Hono proxy to the gateway's runner (`minimal-proxy.ts`). */
  readonly minimal: MinimalProxy;
  readonly targets: Record<keyof typeof pathNames, StreamTarget>;
  /** The gateway reached over TCP, for other calls (unload). */
  readonly gatewayDispatcher: Agent;
  close(): Promise<void>;
}

export interface ModelPathOptions {
  /** Adds to the gateway's environment (`NODE_OPTIONS=--cpu-prof` to profile it). */
  readonly gatewayEnv?: Record<string, string>;
  /**
   * llama-server's `--threads`, set through `_configure` before the first
   * load (so the engine by hand, started with the runner's command line,
   * gets it too). By default the engine takes every core, and on a small
   * machine any CPU the gateway uses then stalls the engine's thread pool.
   */
  readonly engineThreads?: number;
}

export async function openModelPaths(prompt: BenchPrompt = defaultPrompt, { gatewayEnv = {}, engineThreads }: ModelPathOptions = {}): Promise<ModelPaths> {
  const gateway = await startBenchGateway(gatewayEnv);
  const gatewayDispatcher = new Agent({ keepAliveTimeout: 60_000 });
  if (engineThreads !== undefined) await configureThreads(gateway.url, engineThreads);
  const openAI = openAIChatBody(prompt);
  const engines: StreamTarget = {
    name: pathNames.engines,
    url: `${gateway.url}/engines/v1/chat/completions`,
    dispatcher: gatewayDispatcher,
    format: "sse",
    body: openAI,
  };
  await timeStreamedRequest(engines); // loads the gateway's runner
  const runner = await runnerCommand(gateway);
  const direct = await startLlamaServerByHand(runner.binary, runner.args);
  const minimal = await startMinimalProxy(runner.socket);
  const runnerDispatcher = new Agent({ connect: { socketPath: runner.socket }, keepAliveTimeout: 60_000 });
  const onSocket = (name: string, dispatcher: Agent): StreamTarget => ({
    name,
    url: "http://engine/v1/chat/completions",
    dispatcher,
    format: "sse",
    body: openAI,
  });
  return {
    gateway,
    runner,
    direct,
    minimal,
    gatewayDispatcher,
    targets: {
      engines,
      ollama: { name: pathNames.ollama, url: `${gateway.url}/api/chat`, dispatcher: gatewayDispatcher, format: "ndjson", body: ollamaChatBody(prompt) },
      runner: onSocket(pathNames.runner, runnerDispatcher),
      minimal: { name: pathNames.minimal, url: `${minimal.url}/v1/chat/completions`, dispatcher: gatewayDispatcher, format: "sse", body: openAI },
      direct: onSocket(pathNames.direct, direct.dispatcher),
    },
    async close() {
      await Promise.all([gatewayDispatcher.close(), runnerDispatcher.close()]);
      await Promise.all([direct.stop(), gateway.stop(), minimal.stop()]);
    },
  };
}

/** Sets the fixture chat model's `--threads` on a gateway, before it loads the model. */
export async function configureThreads(gatewayUrl: string, threads: number): Promise<void> {
  const { statusCode, body } = await request(`${gatewayUrl}/engines/_configure`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, "runtime-flags": ["--threads", String(threads)] }),
  });
  const reply = await body.text();
  if (statusCode !== 200) throw new Error(`_configure --threads ${threads}: HTTP ${statusCode}: ${reply}`);
}

/**
 * Warms every path (JIT, connections, the engines' prompt caches) and checks
 * that all of them generate the same text, or the comparison would be void.
 */
export async function warmUp(targets: readonly StreamTarget[], requests: number): Promise<void> {
  const texts = new Map<string, string>();
  for (let i = 0; i < requests; i++) {
    for (const target of targets) {
      const timing = await timeOrCountFailure(target);
      if (timing) texts.set(target.name, timing.text);
    }
  }
  const distinct = new Set(texts.values());
  if (distinct.size > 1) {
    throw new Error(`the paths generated different text:\n${[...texts].map(([name, text]) => `${name}: ${JSON.stringify(text)}`).join("\n")}`);
  }
}
