import * as v from "valibot";
import { noteBodyModel } from "../http/body-model.ts";
import { parseUntrustedJson } from "../inference/untrusted-json.ts";
import { BadRequestError } from "./openai-error.ts";

const utf8 = new TextDecoder();

/**
 * Parses a JSON request body and checks it against `schema`.
 *
 * @throws BadRequestError for malformed JSON, JSON that is no object, or a body the schema refuses
 */
export function parseJsonBody<S extends v.GenericSchema>(schema: S, body: Uint8Array | ArrayBuffer): v.InferOutput<S> {
  let json: unknown;
  try {
    json = parseUntrustedJson(utf8.decode(body));
  } catch (error) {
    throw new BadRequestError(`malformed JSON body: ${(error as Error).message}`);
  }
  noteBodyModel(body, json);
  // valibot's object schemas would read an array's methods (`shift`) as fields.
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new BadRequestError("the request body must be a JSON object");
  return parseRequestInput(schema, json);
}

/**
 * Checks a request's already-decoded input (a JSON body, query parameters) against `schema`.
 *
 * @throws BadRequestError with the first issue's message
 */
export function parseRequestInput<S extends v.GenericSchema>(schema: S, input: unknown): v.InferOutput<S> {
  const result = v.safeParse(schema, input);
  if (!result.success) throw new BadRequestError(result.issues[0]?.message ?? "invalid request");
  return result.output;
}
