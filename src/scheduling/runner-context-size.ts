import type { Dispatcher } from "undici";
import { field } from "./json-field.ts";
import { getRunnerJson } from "./runner-json.ts";

/**
 * The context a runner gives each request, as the engine itself reports it:
 * llama-server's `GET /props` (`default_generation_settings.n_ctx`, per slot,
 * already capped at the trained context) or vLLM's `GET /v1/models`
 * (`max_model_len`). Null when neither says.
 *
 * @throws the signal's reason once it is aborted
 */
export async function queryRunnerContextSize(dispatcher: Dispatcher, signal: AbortSignal): Promise<number | null> {
  const props = await getRunnerJson(dispatcher, "/props", signal);
  const nCtx = field(field(props, "default_generation_settings"), "n_ctx");
  if (isPositiveInteger(nCtx)) return nCtx;
  const models = await getRunnerJson(dispatcher, "/v1/models", signal);
  const data = field(models, "data");
  const maxModelLen = Array.isArray(data) ? field(data[0], "max_model_len") : undefined;
  return isPositiveInteger(maxModelLen) ? maxModelLen : null;
}

function isPositiveInteger(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) > 0;
}
