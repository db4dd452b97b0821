/**
 * Reading a reply from another service whole (a manifest, a token, an error
 * body, a JSON listing), never more than a limit: counted as the bytes
 * arrive, not trusted from `Content-Length`, and the connection cut once the
 * limit is passed, so a peer that streams without end costs nothing.
 *
 * @example const manifest = await readBounded(response.body, 4 << 20, response.headers["content-length"])
 */
import type { Readable } from "node:stream";

/** The reply ran past its limit; the connection was cut. */
export class ReplyTooLargeError extends Error {
  override readonly name = "ReplyTooLargeError";
  constructor(readonly limit: number) {
    super(`the reply is larger than ${limit} bytes`);
  }
}

/** A body as undici (`Readable`) gives it. */
export type ReplyBody = Readable;

/**
 * The body's bytes, at most `maxBytes`. A declared length over the limit is
 * refused before reading; a body that runs over is destroyed mid-stream
 * (undici then drops the connection rather than reuse it).
 *
 * @throws ReplyTooLargeError
 */
export async function readBounded(body: ReplyBody, maxBytes: number, declaredLength?: string | string[]): Promise<Uint8Array> {
  const declared = Number(Array.isArray(declaredLength) ? declaredLength[0] : declaredLength);
  if (declared > maxBytes) return refuse(body, maxBytes);
  const chunks: Uint8Array[] = [];
  let received = 0;
  for await (const chunk of body as AsyncIterable<Uint8Array>) {
    received += chunk.byteLength;
    if (received > maxBytes) return refuse(body, maxBytes);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, received);
}

/** {@link readBounded}, decoded as UTF-8. */
export async function readBoundedText(body: ReplyBody, maxBytes: number, declaredLength?: string | string[]): Promise<string> {
  return new TextDecoder().decode(await readBounded(body, maxBytes, declaredLength));
}

function refuse(body: ReplyBody, limit: number): never {
  body.destroy();
  throw new ReplyTooLargeError(limit);
}
