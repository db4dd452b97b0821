import { parseArgs } from "node:util";
import { createApp } from "../server/app.ts";
import { loadConfig } from "../server/config.ts";
import { createLogger } from "../server/logger.ts";
import { listen } from "../server/serve.ts";

const help = `Usage: modelgate serve [--host HOST[:PORT]]

Starts the gateway. Environment: MODELGATE_HOST (or OLLAMA_HOST), MODELGATE_HOME.`;

export async function serveCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { host: { type: "string" }, help: { type: "boolean", short: "h" } } });
  if (values.help) {
    console.log(help);
    return;
  }
  const config = loadConfig(process.env, { host: values.host });
  const logger = createLogger(config.logLevel);
  const server = await listen(createApp(), config.listen);
  logger.info({ url: server.url, home: config.home }, `modelgate listening on ${server.url}`);

  const stop = async (signal: string) => {
    logger.info({ signal }, "shutting down");
    await server.close();
    process.exit(0);
  };
  process.once("SIGINT", () => void stop("SIGINT"));
  process.once("SIGTERM", () => void stop("SIGTERM"));
}
