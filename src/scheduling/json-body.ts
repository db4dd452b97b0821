import * as v from "valibot";
import { BadRequestError } from "./openai-error.ts";

/**
 * Parses a JSON request body and checks it against `schema`.
 *
 * @throws BadRequestError for malformed JSON or a body the schema refuses
 */
export function parseJsonBody<S extends v.GenericSchema>(schema: S, body: Uint8Array | ArrayBuffer): v.InferOutput<S> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(body));
  } catch (error) {
    throw new BadRequestError(`malformed JSON body: ${(error as Error).message}`);
  }
  const result = v.safeParse(schema, json);
  if (!result.success) throw new BadRequestError(result.issues[0]?.message ?? "invalid request");
  return result.output;
}
