/**
 * Reading a JSON request body at the trust boundary, for every front door:
 * JSON, then a valibot schema, every failure a 400 whose message names what
 * is wrong in words a client can act on (each dialect shapes the error).
 */
import type { HonoRequest } from "hono";
import { HTTPException } from "hono/http-exception";
import * as v from "valibot";
import { parseUntrustedJson } from "../inference/untrusted-json.ts";
import { noteBodyModel } from "./body-model.ts";

/**
 * @throws HTTPException 400 on an empty body, bad JSON, JSON that is no object, or a body the schema refuses
 */
export async function readRequestBody<const Schema extends v.GenericSchema>(
  request: Pick<HonoRequest, "text">,
  schema: Schema,
): Promise<v.InferOutput<Schema>> {
  const text = await request.text();
  if (text.trim() === "") throw badRequest("missing request body");
  let json: unknown;
  try {
    json = parseUntrustedJson(text);
  } catch (error) {
    throw badRequest(`invalid JSON: ${(error as Error).message}`);
  }
  noteBodyModel(request, json);
  // Every body is an object of fields; valibot's object schemas would read an array's methods (`shift`) as fields.
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw badRequest("the request body must be a JSON object");
  const result = v.safeParse(schema, json);
  if (!result.success) throw badRequest(describeIssue(result.issues[0]));
  return result.output;
}

export function badRequest(message: string): HTTPException {
  return new HTTPException(400, { message });
}

/** `messages.0.role: Invalid type: Expected string but received 1` */
function describeIssue(issue: v.BaseIssue<unknown>): string {
  const path = issue.path?.map((item) => String(item.key)).join(".");
  return path ? `${path}: ${issue.message}` : issue.message;
}
