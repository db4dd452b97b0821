/**
 * The engines contract as the Ollama layer calls it: every call tagged with
 * Ollama's origin, every refusal turned into the status and words Ollama
 * clients expect, and what comes back from outside (an external engine's
 * model objects, an engine's JSON) checked at the boundary.
 */
import { json } from "node:stream/consumers";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import * as v from "valibot";
import { EngineRefusal, type EnginePath, type EngineReply, type EngineRunner, type Engines } from "../engines/engines.ts";
import { OriginOllamaCompletion } from "../inference/origin.ts";

export interface OllamaEngines {
  /**
   * Sends an inference request; the reply streams the engine's bytes.
   *
   * @throws HTTPException with Ollama's status and words (404 `model "x" not found, try pulling it first`)
   */
  send(path: EnginePath, body: Readonly<Record<string, unknown>>, signal: AbortSignal): Promise<EngineReply>;
  /** Sends, and reads the engine's whole JSON answer against `schema`. */
  json<const Schema extends v.GenericSchema>(
    path: EnginePath,
    body: Readonly<Record<string, unknown>>,
    schema: Schema,
    signal: AbortSignal,
  ): Promise<{ value: v.InferOutput<Schema>; loadDurationMs: number }>;
  /** A model as the engines describe it, checked against `schema`. */
  model<const Schema extends v.GenericSchema>(name: string, schema: Schema): Promise<v.InferOutput<Schema>>;
  /** Every model the engines serve, each checked against `schema`. */
  models<const Schema extends v.GenericSchema>(schema: Schema): Promise<Array<v.InferOutput<Schema>>>;
  runners(): EngineRunner[];
  unload(models: readonly string[]): Promise<void>;
}

export function ollamaEngines(engines: Engines): OllamaEngines {
  const checked = <const Schema extends v.GenericSchema>(schema: Schema, value: unknown, what: string): v.InferOutput<Schema> => {
    const result = v.safeParse(schema, value);
    if (!result.success) throw new HTTPException(502, { message: `the engines layer answered ${what} unexpectedly` });
    return result.output;
  };
  const send: OllamaEngines["send"] = async (path, body, signal) => {
    try {
      return await engines.send({ path, body, origin: OriginOllamaCompletion, signal });
    } catch (error) {
      throw inOllamaWords(error, typeof body.model === "string" ? body.model : undefined);
    }
  };
  return {
    send,
    async json(path, body, schema, signal) {
      const reply = await send(path, body, signal);
      const result = v.safeParse(schema, await json(reply.body));
      if (!result.success) throw new Error(`the engine's ${path} answer is unreadable`);
      return { value: result.output, loadDurationMs: reply.loadDurationMs };
    },
    async model(name, schema) {
      try {
        return checked(schema, await engines.model(name), `/v1/models/${name}`);
      } catch (error) {
        // The engines' own words for a model they do not know (`/api/show` says them as they are).
        throw inOllamaWords(error, undefined);
      }
    },
    async models(schema) {
      const models = await engines.models().catch((error: unknown) => Promise.reject(inOllamaWords(error, undefined)));
      return models.map((model) => checked(schema, model, "/v1/models"));
    },
    runners: () => engines.runners(),
    async unload(models) {
      await engines.unload({ models }).catch((error: unknown) => Promise.reject(inOllamaWords(error, undefined)));
    },
  };
}

/** An engine's refusal as Ollama words it; anything else as it is. */
function inOllamaWords(error: unknown, model: string | undefined): unknown {
  if (!(error instanceof EngineRefusal)) return error;
  // Ollama's words for an unknown model; a 404 for an unknown backend or route keeps its own.
  if (error.status === 404 && model !== undefined && error.code === "model_not_found") {
    return new HTTPException(404, { message: `model "${model}" not found, try pulling it first`, cause: error });
  }
  // Ollama's own sentence for a prompt its runner's context cannot hold (llm/llama_server.go).
  if (error.code === "context_length_exceeded") return new HTTPException(400, { message: promptTooLong, cause: error });
  return new HTTPException(error.status as ContentfulStatusCode, { message: error.message, cause: error });
}

const promptTooLong =
  "the prompt is longer than the context length currently available to the model; shorten the prompt, adjust the context length in settings, or use a model with a longer context length";
