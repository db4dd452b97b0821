/**
 * Ollama refuses, before loading anything, a request the model cannot serve:
 * a chat with an embedding model, `think` with a model that cannot think,
 * tools, a suffix or images it has no use for. The model's capabilities are
 * the engines layer's (`/api/show`'s), derived from its GGUF and template.
 */
import { HTTPException } from "hono/http-exception";
import * as v from "valibot";
import type { CompletionCall } from "./completion-call.ts";
import type { OllamaEngines } from "./ollama-engines.ts";
import { badRequest } from "./request-body.ts";

// An external engine's model may say nothing of its capabilities: then nothing is checked.
const ModelCapabilitiesSchema = v.object({ capabilities: v.nullish(v.array(v.string())) });

/**
 * @throws HTTPException 400 in Ollama's words (`"tiny-embed" does not support chat`), 404 for an unknown model
 */
export async function checkCapabilities(engines: OllamaEngines, call: CompletionCall): Promise<void> {
  let capabilities: readonly string[] | null | undefined;
  try {
    ({ capabilities } = await engines.model(call.model, ModelCapabilitiesSchema));
  } catch (error) {
    if (error instanceof HTTPException && error.status === 404) {
      throw new HTTPException(404, { message: `model "${call.model}" not found, try pulling it first` });
    }
    throw error;
  }
  if (!capabilities) return;
  const name = JSON.stringify(call.model);
  // Ollama's order: thinking first, then completion (in the endpoint's own word), then the rest.
  if (call.thinks && !capabilities.includes("thinking")) throw badRequest(`${name} does not support thinking`);
  const missing = call.capabilities.filter((capability) => !capabilities.includes(capability));
  if (missing.includes("completion")) throw badRequest(`${name} does not support ${call.shape}`);
  if (missing.length) throw badRequest(`${name} does not support ${missing.join(", ")}`);
}
