import { loadConfig } from "../server/config.ts";
import { createGateway } from "../server/gateway.ts";
import { createLogBuffer } from "../server/log-buffer.ts";
import { createLogger } from "../server/logger.ts";
import { listen } from "../server/serve.ts";
import { expectPositionals, parseCommandArgs, type Command } from "./command.ts";

export const serveCommand: Command = {
  help: `Usage: modelgate serve [--host HOST[:PORT]]

Starts the gateway. Environment: MODELGATE_HOST (or OLLAMA_HOST), MODELGATE_HOME,
MODELGATE_KEEP_ALIVE, MODELGATE_MAX_LOADED_MODELS, MODELGATE_MAX_QUEUE,
MODELGATE_LOG_LEVEL, MODELGATE_LOG_FORMAT, MODELGATE_BODY_TIMEOUT, MODELGATE_SEND_TIMEOUT,
MODELGATE_MAX_BUFFERED_BYTES (see README).

Options:
  --host HOST[:PORT]   listen address (default 127.0.0.1:11434)
  -h, --help           show this help`,
  run: serve,
};

async function serve(args: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs(args, { host: { type: "string" } });
  expectPositionals(positionals, []);
  const config = loadConfig(process.env, { host: values.host });
  const logs = createLogBuffer();
  const format = config.logFormat ?? (process.stderr.isTTY ? "pretty" : "json");
  const logger = createLogger({ level: config.logLevel, format, buffer: logs });
  const gateway = await createGateway(config, logger, logs);
  const server = await listen(gateway.app, config.listen, {
    receiveIdleMs: config.bodyIdleTimeoutMs,
    sendIdleMs: config.sendIdleTimeoutMs,
    onCut: ({ direction, method, url }) =>
      logger.warn({ method, path: url }, direction === "send" ? "client stopped reading: response cut" : "request body stalled: cut with 408"),
  });
  logger.info({ url: server.url, home: config.home }, `modelgate listening on ${server.url}`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    logs.close(); // `logs -f` streams never end by themselves
    // Streams in flight may finish first; past the grace, stopping the runners ends them with an error.
    await server.close(config.shutdownGraceMs, () => gateway.close());
    await gateway.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}
