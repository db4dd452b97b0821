/**
 * Reading an Ollama request body at the trust boundary: the gateway's JSON
 * body reader (src/http/request-body.ts), and the model a request names.
 */
import * as v from "valibot";
import { badRequest } from "../http/request-body.ts";

export { badRequest, readRequestBody } from "../http/request-body.ts";

/** `model`, and `name`, which older clients still send in its place. */
export const ModelEntries = {
  model: v.nullish(v.string()),
  name: v.nullish(v.string()),
};

/** The model a request names, by `model` or `name`. */
export function requiredModel(body: { model?: string | null; name?: string | null }): string {
  const model = (body.model || body.name || "").trim();
  if (!model) throw badRequest("model is required");
  return model;
}
