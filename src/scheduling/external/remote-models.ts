import { createHash } from "node:crypto";
import * as v from "valibot";

/** A fact a remote may state in any form: kept when it is a number, dropped otherwise. */
const Count = v.fallback(v.optional(v.number()), undefined);
const Text = v.fallback(v.optional(v.string()), undefined);

/**
 * One entry of a remote's `GET /v1/models`: OpenAI's `id`, with what engines
 * add when they know it: llama-server's `meta`, vLLM's `max_model_len`,
 * another modelgate's digest, lengths and capabilities.
 */
const RemoteModelSchema = v.looseObject({
  id: v.pipe(v.string(), v.nonEmpty(), v.maxLength(512)),
  created: Count,
  digest: Text,
  context_length: Count,
  max_model_len: Count,
  embedding_length: Count,
  architecture: Text,
  parameters: Count,
  quantization: Text,
  size: Count,
  template: Text,
  capabilities: v.fallback(v.optional(v.array(v.string())), undefined),
  meta: v.fallback(
    v.optional(v.looseObject({ n_ctx_train: Count, n_embd: Count, n_params: Count, size: Count })),
    undefined,
  ),
});

export const RemoteModelListSchema = v.object({ data: v.array(RemoteModelSchema) });

export type RemoteModel = v.InferOutput<typeof RemoteModelSchema>;

/**
 * A remote model as the engines layer lists models (OpenAI's model object with
 * the facts Ollama's views read), under the name the gateway serves it as.
 * What the remote does not say stays null; a model whose remote gives no
 * digest gets one made from the engine's and the model's names, stable
 * across restarts; capabilities default to completion.
 */
export function externalModelObject(engine: string, name: string, remote: RemoteModel, seenAt: Date) {
  return {
    id: name,
    object: "model",
    created: remote.created ?? Math.floor(seenAt.getTime() / 1000),
    owned_by: engine,
    digest: remote.digest ?? `sha256:${createHash("sha256").update(`${engine}\0${remote.id}`).digest("hex")}`,
    context_length: remote.context_length ?? remote.max_model_len ?? remote.meta?.n_ctx_train ?? null,
    embedding_length: remote.embedding_length ?? remote.meta?.n_embd ?? null,
    architecture: remote.architecture ?? null,
    parameters: remote.parameters ?? remote.meta?.n_params ?? null,
    quantization: remote.quantization ?? null,
    size: remote.size ?? remote.meta?.size ?? null,
    capabilities: remote.capabilities ?? ["completion"],
    template: remote.template ?? null,
  };
}

export type ExternalModelObject = ReturnType<typeof externalModelObject>;
