import * as v from "valibot";
import { parseKeepAlive } from "../inference/keep-alive.ts";
import { parseRunnerOptions, type RunnerOptions } from "../inference/runner-options.ts";
import { parseJsonBody, parseRequestInput } from "./json-body.ts";
import { BadRequestError } from "./openai-error.ts";

/** A request's `model`; a missing one reads as empty, so both get the same message. */
export const ModelFieldSchema = v.pipe(
  v.optional(v.string("model must be a string"), ""),
  v.trim(),
  v.nonEmpty("model is required"),
  v.maxLength(512, "model is too long"),
);

/** Ollama's `keep_alive`: seconds or a duration string. */
export const KeepAliveSchema = v.union([v.number(), v.string()], "keep_alive must be a number or a duration");

/**
 * Just what routing needs from an inference request (and `stream`, checked
 * early for a clear error); everything else in the body goes to the engine
 * untouched. `keep_alive`, `truncate` (Ollama's) and `runner_options` are
 * honoured when present; engines ignore the fields.
 */
const EngineRequestSchema = v.looseObject({
  model: ModelFieldSchema,
  stream: v.optional(v.nullable(v.boolean("stream must be a boolean"))),
  keep_alive: v.optional(KeepAliveSchema),
  truncate: v.optional(v.boolean("truncate must be a boolean")),
  runner_options: v.optional(v.unknown()),
});

export interface EngineRequest {
  readonly model: string;
  /** Milliseconds, when the request sets one. */
  readonly keepAliveMs?: number;
  /**
   * Cut what does not fit the runner's context (true) or refuse it (false):
   * embedding inputs, a chat's oldest messages, a prompt's middle. Absent
   * leaves it to the engine.
   */
  readonly truncate?: boolean;
  /** The runner this request needs (see `withRunnerOptions`). */
  readonly runnerOptions?: RunnerOptions;
}

/**
 * Reads the routing fields of a JSON request body (its bytes, or the object a dialect built).
 *
 * @throws BadRequestError for malformed JSON, a missing model or a bad keep_alive;
 *   InvalidConfigurationError for bad runner options
 */
export function parseEngineRequest(body: Uint8Array | Readonly<Record<string, unknown>>): EngineRequest {
  const fields = body instanceof Uint8Array ? parseJsonBody(EngineRequestSchema, body) : parseRequestInput(EngineRequestSchema, body);
  const { model, keep_alive, truncate, runner_options } = fields;
  const keepAliveMs = keepAliveField(keep_alive);
  return {
    model,
    ...(keepAliveMs === undefined ? {} : { keepAliveMs }),
    ...(truncate === undefined ? {} : { truncate }),
    ...(runner_options === undefined ? {} : { runnerOptions: parseRunnerOptions(runner_options) }),
  };
}

/** @throws BadRequestError when the duration cannot be read */
export function keepAliveField(value: number | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  try {
    return parseKeepAlive(value);
  } catch (error) {
    throw new BadRequestError((error as Error).message);
  }
}
