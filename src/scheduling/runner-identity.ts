import type { Dispatcher } from "undici";
import { field } from "./json-field.ts";
import { getRunnerJson } from "./runner-json.ts";

/** What answers on a runner's socket is not the engine this gateway started there. */
export class ForeignRunnerError extends Error {
  override readonly name = "ForeignRunnerError";
}

/**
 * Checks that the engine answering on a runner's socket serves `modelRef`,
 * the name it was started with (llama-server's `--alias`, vLLM's
 * `--served-model-name`), as its `GET /v1/models` lists it: a socket path
 * proves nothing, another process may have bound it. An engine that lists
 * no models passes.
 *
 * @throws ForeignRunnerError, or the signal's reason once it is aborted
 */
export async function checkRunnerServes(dispatcher: Dispatcher, modelRef: string, signal: AbortSignal): Promise<void> {
  const data = field(await getRunnerJson(dispatcher, "/v1/models", signal), "data");
  if (!Array.isArray(data)) return;
  const served = data.map((model) => field(model, "id")).filter((id): id is string => typeof id === "string");
  if (served.length > 0 && !served.includes(modelRef)) {
    throw new ForeignRunnerError(`the engine on the runner's socket serves ${served.join(", ")}, not ${modelRef}: another process took its place`);
  }
}
