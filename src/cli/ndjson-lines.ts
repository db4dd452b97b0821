import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import * as v from "valibot";

/**
 * The objects of an NDJSON response body, each checked against `schema`, as they arrive.
 *
 * @throws Error quoting a line that is not JSON or not of the schema
 */
export async function* ndjsonLines<const Schema extends v.GenericSchema>(response: Response, schema: Schema): AsyncGenerator<v.InferOutput<Schema>> {
  if (!response.body) throw new Error("the server sent an empty reply");
  const lines = createInterface({ input: Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new Error(`the server sent a line that is not JSON: ${line.slice(0, 200)}`);
    }
    const parsed = v.safeParse(schema, value);
    if (!parsed.success) throw new Error(`unexpected line from the server: ${line.slice(0, 200)}`);
    yield parsed.output;
  }
}
