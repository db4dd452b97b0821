import { loadConfig } from "../server/config.ts";
import { createGateway } from "../server/gateway.ts";
import { createLogger } from "../server/logger.ts";
import { listen } from "../server/serve.ts";
import { parseCommandArgs, UsageError, type Command } from "./command.ts";

export const serveCommand: Command = {
  summary: "Start the gateway (default 127.0.0.1:11434)",
  help: `Usage: modelgate serve [--host HOST[:PORT]]

Starts the gateway. Environment: MODELGATE_HOST (or OLLAMA_HOST), MODELGATE_HOME,
MODELGATE_KEEP_ALIVE, MODELGATE_MAX_LOADED_MODELS, MODELGATE_MAX_QUEUE (see README).`,
  run: serve,
};

async function serve(args: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs(args, { host: { type: "string" } });
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const config = loadConfig(process.env, { host: values.host });
  const logger = createLogger(config.logLevel);
  const gateway = await createGateway(config, logger);
  const server = await listen(gateway.app, config.listen);
  logger.info({ url: server.url, home: config.home }, `modelgate listening on ${server.url}`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    // Streams in flight may finish first; then every runner is stopped.
    await server.close(config.shutdownGraceMs);
    await gateway.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}
