/**
 * OCI image manifests (and Docker's schema 2, which Ollama uses), checked at
 * the trust boundary: whatever a registry or a file says goes through here
 * before a digest in it names a path.
 */
import * as v from "valibot";
import { isSha256Digest } from "../reference.ts";
import { sha256Digest, type Sha256Digest } from "./digest.ts";
import { mediaTypes } from "./media-types.ts";

/** Distribution's own limit; a manifest is metadata, never weights. */
export const maxManifestBytes = 4 * 1024 * 1024;

const DigestSchema = v.custom<Sha256Digest>((value) => typeof value === "string" && isSha256Digest(value), "expected a sha256 digest");

export const DescriptorSchema = v.object({
  mediaType: v.pipe(v.string(), v.minLength(1)),
  digest: DigestSchema,
  size: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER)),
  annotations: v.optional(v.record(v.string(), v.string())),
});

export const ManifestSchema = v.object({
  schemaVersion: v.literal(2),
  mediaType: v.optional(v.string()),
  config: DescriptorSchema,
  layers: v.array(DescriptorSchema),
  annotations: v.optional(v.record(v.string(), v.string())),
});

export type Descriptor = v.InferOutput<typeof DescriptorSchema>;
export type Manifest = v.InferOutput<typeof ManifestSchema>;

/** A manifest with the exact bytes its digest is computed over. */
export interface ManifestBlob {
  readonly digest: Sha256Digest;
  readonly bytes: Uint8Array;
  readonly manifest: Manifest;
}

/** A manifest (or a config) that is not what it should be. */
export class InvalidManifestError extends Error {
  override readonly name = "InvalidManifestError";
}

/**
 * @throws InvalidManifestError
 */
export function parseManifest(bytes: Uint8Array): ManifestBlob {
  if (bytes.byteLength > maxManifestBytes) throw new InvalidManifestError(`manifest larger than ${maxManifestBytes} bytes`);
  const manifest = parseJson(bytes, ManifestSchema, "manifest");
  return { digest: sha256Digest(bytes), bytes, manifest };
}

/** Serialises a manifest this store builds; the digest covers these exact bytes. */
export function encodeManifest(manifest: Manifest): ManifestBlob {
  const bytes = new TextEncoder().encode(JSON.stringify(manifest));
  return { digest: sha256Digest(bytes), bytes, manifest };
}

/** The media type to send a manifest with: the one it declares, else by its config. */
export function manifestMediaType(manifest: Manifest): string {
  if (manifest.mediaType) return manifest.mediaType;
  return manifest.config.mediaType === mediaTypes.ollamaConfig ? mediaTypes.dockerManifest : mediaTypes.ociManifest;
}

/** Config first, then layers: every blob a model needs. */
export function manifestBlobs(manifest: Manifest): Descriptor[] {
  return [manifest.config, ...manifest.layers];
}

export function parseJson<const Schema extends v.GenericSchema>(
  bytes: Uint8Array | string,
  schema: Schema,
  what: string,
): v.InferOutput<Schema> {
  let json: unknown;
  try {
    json = JSON.parse(typeof bytes === "string" ? bytes : new TextDecoder().decode(bytes));
  } catch (error) {
    throw new InvalidManifestError(`${what} is not JSON: ${(error as Error).message}`);
  }
  const result = v.safeParse(schema, json);
  if (!result.success) {
    const issue = result.issues[0];
    const path = issue.path?.map((item) => String(item.key)).join(".");
    throw new InvalidManifestError(`invalid ${what}: ${path ? `${path}: ` : ""}${issue.message}`);
  }
  return result.output;
}
