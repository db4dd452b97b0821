/**
 * Ollama clients send images as bare base64; OpenAI engines want data URLs.
 * The MIME type is read from the image's first bytes, since the engine's
 * decoder trusts it.
 */

const signatures: readonly (readonly [mime: string, matches: (bytes: Uint8Array) => boolean])[] = [
  ["image/png", (b) => startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])],
  ["image/jpeg", (b) => startsWith(b, [0xff, 0xd8, 0xff])],
  ["image/gif", (b) => startsWith(b, [0x47, 0x49, 0x46, 0x38])],
  // RIFF....WEBP
  ["image/webp", (b) => startsWith(b, [0x52, 0x49, 0x46, 0x46]) && startsWith(b.subarray(8), [0x57, 0x45, 0x42, 0x50])],
  ["image/bmp", (b) => startsWith(b, [0x42, 0x4d])],
];

/** An image the gateway cannot pass on. Maps to a 400. */
export class InvalidImageError extends Error {
  override readonly name = "InvalidImageError";
}

/**
 * @example imageDataUrl("iVBORw0KGgo…") // "data:image/png;base64,iVBORw0KGgo…"
 * @throws InvalidImageError when the text is not base64 of a PNG, JPEG, GIF, WebP or BMP image
 */
export function imageDataUrl(image: string): string {
  if (image.startsWith("data:")) return image;
  const base64 = image.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(base64)) throw new InvalidImageError("image is not valid base64");
  // 16 base64 characters are 12 bytes: enough for every signature above.
  const head = Buffer.from(base64.slice(0, 16), "base64");
  const mime = signatures.find(([, matches]) => matches(head))?.[0];
  if (!mime) throw new InvalidImageError("image is not a PNG, JPEG, GIF, WebP or BMP file");
  return `data:${mime};base64,${base64}`;
}

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return prefix.every((byte, i) => bytes[i] === byte);
}
