import { join } from "node:path";
import { digestHex, type Sha256Digest } from "./digest.ts";

/**
 * Where everything lives under `<home>/models`. Every path a digest names is
 * built from a checked `sha256:<64 hex>`, and nothing a client names becomes
 * a path: tags live inside the index file.
 */
export interface StoreLayout {
  readonly root: string;
  /** `blobs/sha256/<hex>`: content, named by its hash. */
  blob(digest: Sha256Digest): string;
  /** `blobs/sha256/<hex>.incomplete`: a download in progress, resumed with a Range request. */
  incomplete(digest: Sha256Digest): string;
  /** `manifests/sha256/<hex>`: the exact bytes of each model's manifest. */
  manifest(digest: Sha256Digest): string;
  /** `bundles/<hex>`: a safetensors model's directory, links to its blobs under their file names, for vLLM. */
  bundle(digest: Sha256Digest): string;
  readonly blobsDir: string;
  readonly manifestsDir: string;
  /** `configurations/<hex>.json`: how a model runs (`/engines/_configure`), kept with it and removed with it. */
  configuration(digest: Sha256Digest): string;
  readonly configurationsDir: string;
  /** Scratch files, renamed into place once complete (same filesystem, so rename is atomic). */
  readonly tmpDir: string;
  /** The tags, written last and atomically: what lists as a model. */
  readonly index: string;
}

export function storeLayout(root: string): StoreLayout {
  const blobsDir = join(root, "blobs", "sha256");
  const manifestsDir = join(root, "manifests", "sha256");
  const configurationsDir = join(root, "configurations");
  return {
    root,
    blobsDir,
    manifestsDir,
    configurationsDir,
    tmpDir: join(root, "tmp"),
    index: join(root, "index.json"),
    blob: (digest) => join(blobsDir, digestHex(digest)),
    incomplete: (digest) => join(blobsDir, `${digestHex(digest)}.incomplete`),
    manifest: (digest) => join(manifestsDir, digestHex(digest)),
    configuration: (digest) => join(configurationsDir, `${digestHex(digest)}.json`),
    bundle: (digest) => join(root, "bundles", digestHex(digest)),
  };
}
