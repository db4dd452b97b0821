import type { Logger } from "pino";
import * as v from "valibot";
import type { EnginesClient } from "./engines-client.ts";

/** From the engines' `GET /_configure`: what was configured, in the shape `POST /_configure` takes. */
const ConfigurationSchema = v.object({
  stored: v.nullable(v.looseObject({ "context-size": v.optional(v.number()) })),
});

/**
 * `options.num_ctx` → the runner's context size, set through the engines'
 * `/_configure` on top of the rest of the model's configuration (a draft
 * model, runtime flags), which it keeps. A size only ever grows: a runner
 * with room for 8192 tokens serves a request asking for 2048 as it is, so
 * clients that alternate sizes never make the runner reload back and forth.
 */
export function createContextSizer(engines: EnginesClient, logger: Logger): (model: string, size: number) => Promise<void> {
  const largest = new Map<string, number>();
  return async (model, size) => {
    if ((largest.get(model) ?? 0) >= size) return;
    largest.set(model, size);
    try {
      const { stored } = await engines.get(`/_configure?${new URLSearchParams({ model })}`, ConfigurationSchema);
      if ((stored?.["context-size"] ?? 0) >= size) return;
      await engines.post("/_configure", { ...stored, model, "context-size": size });
    } catch (error) {
      // A busy runner keeps its size for now; the request still runs.
      largest.delete(model);
      logger.debug({ err: error, model, size }, "context size not applied");
    }
  };
}
