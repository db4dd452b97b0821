import type { Logger } from "pino";
import type { EnginesClient } from "./engines-client.ts";

/**
 * `options.num_ctx` → the runner's context size, set through the engines'
 * `/_configure`. A size only ever grows: a runner with room for 8192 tokens
 * serves a request asking for 2048 as it is, so clients that alternate sizes
 * never make the runner reload back and forth.
 */
export function createContextSizer(engines: EnginesClient, logger: Logger): (model: string, size: number) => Promise<void> {
  const largest = new Map<string, number>();
  return async (model, size) => {
    if ((largest.get(model) ?? 0) >= size) return;
    largest.set(model, size);
    try {
      await engines.post("/_configure", { model, "context-size": size });
    } catch (error) {
      // A busy runner keeps its size for now; the request still runs.
      largest.delete(model);
      logger.debug({ err: error, model, size }, "context size not applied");
    }
  };
}
