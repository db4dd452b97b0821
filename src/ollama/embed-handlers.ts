/**
 * `/api/embed` (L2-normalised vectors, optionally cut to `dimensions`) and the
 * legacy `/api/embeddings` (one vector, as the model made it), both answered
 * from the engines' OpenAI `/v1/embeddings`.
 */
import { json } from "node:stream/consumers";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import * as v from "valibot";
import { jsonRecord } from "../inference/untrusted-json.ts";
import { optionalField } from "../utilities/optional-field.ts";
import type { OllamaEngines } from "./ollama-engines.ts";
import { nanoseconds } from "./ollama-replies.ts";
import { ModelEntries, readRequestBody, requiredModel } from "./request-body.ts";
import { readRequestOptions, runnerOptionsField } from "./request-options.ts";
import { asksToUnload } from "./unload-request.ts";

const CommonEntries = {
  ...ModelEntries,
  keep_alive: v.nullish(v.union([v.number(), v.string()])),
  // Sampling options mean nothing to an embedding; the load-time ones (num_ctx…) choose its runner, as in Ollama.
  options: v.nullish(jsonRecord(v.unknown())),
};

/** What both endpoints pass on to the engines layer from the entries they share: how long to keep the runner, which runner. */
function runnerFields(request: v.InferOutput<v.ObjectSchema<typeof CommonEntries, undefined>>) {
  return { ...optionalField("keep_alive", request.keep_alive), ...runnerOptionsField(readRequestOptions(request.options ?? undefined).runner) };
}

const EmbedRequestSchema = v.object({
  ...CommonEntries,
  input: v.nullish(v.union([v.string(), v.array(v.string())])),
  truncate: v.nullish(v.boolean()),
  dimensions: v.nullish(v.pipe(v.number(), v.integer(), v.minValue(1))),
});

const EmbeddingsRequestSchema = v.object({
  ...CommonEntries,
  prompt: v.nullish(v.string()),
});

const EngineEmbeddingsSchema = v.object({
  data: v.array(v.object({ index: v.number(), embedding: v.array(v.number()) })),
  usage: v.nullish(v.object({ prompt_tokens: v.number() })),
});

export function createEmbedHandlers(engines: OllamaEngines) {
  const embed = async (model: string, input: readonly string[], extra: Record<string, unknown>, signal: AbortSignal) => {
    const reply = await engines.send("/v1/embeddings", { model, input, encoding_format: "float", ...extra }, signal);
    const result = v.safeParse(EngineEmbeddingsSchema, await json(reply.body));
    if (!result.success) throw new HTTPException(502, { message: `the engine's embeddings for ${model} are unreadable` });
    const vectors = [...result.output.data].sort((a, b) => a.index - b.index).map((item) => item.embedding);
    return { vectors, promptTokens: result.output.usage?.prompt_tokens ?? 0, loadMs: reply.loadDurationMs };
  };

  /** Nothing to embed: still a 404 for a model that does not exist, and with `keep_alive: 0` an unload, as on Ollama. */
  const nothing = async (model: string, keepAlive: number | string | null | undefined) => {
    await engines.model(model, v.unknown());
    if (asksToUnload(keepAlive)) await engines.unload([model]);
    return { vectors: [], promptTokens: 0, loadMs: 0 };
  };

  return {
    async embed(c: Context): Promise<Response> {
      const startedAt = performance.now();
      const request = await readRequestBody(c.req, EmbedRequestSchema);
      const model = requiredModel(request);
      const input = typeof request.input === "string" ? [request.input] : (request.input ?? []);
      // The engines layer cuts (or, told not to, refuses) inputs longer than the context, as Ollama does.
      const extra = { truncate: request.truncate ?? true, ...runnerFields(request) };
      const { vectors, promptTokens, loadMs } =
        input.length === 0 ? await nothing(model, request.keep_alive) : await embed(model, input, extra, c.req.raw.signal);
      const dimensions = request.dimensions ?? undefined;
      return c.json({
        model,
        embeddings: vectors.map((vector) => normalize(dimensions ? vector.slice(0, dimensions) : vector)),
        total_duration: nanoseconds(performance.now() - startedAt),
        load_duration: nanoseconds(loadMs),
        prompt_eval_count: promptTokens,
      });
    },

    async embeddings(c: Context): Promise<Response> {
      const request = await readRequestBody(c.req, EmbeddingsRequestSchema);
      const model = requiredModel(request);
      if (!request.prompt) return c.json({ embedding: (await nothing(model, request.keep_alive)).vectors });
      // llama-server normalises unless told not to; the legacy endpoint answers the model's raw vector.
      const { vectors } = await embed(model, [request.prompt], { ...runnerFields(request), truncate: true, embd_normalize: -1 }, c.req.raw.signal);
      return c.json({ embedding: vectors[0] ?? [] });
    },
  };
}

/** Scales a vector to unit length (a zero vector stays as it is). */
export function normalize(vector: readonly number[]): number[] {
  const norm = Math.sqrt(vector.reduce((sum, x) => sum + x * x, 0));
  return norm === 0 ? [...vector] : vector.map((x) => x / norm);
}
