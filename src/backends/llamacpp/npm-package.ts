import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { join } from "node:path";
import { runCommand } from "../run-command.ts";

/** One npm package pinned by version and tarball integrity (npm's `dist.integrity`). */
export interface PinnedPackage {
  /** `name@version` */
  readonly spec: string;
  readonly integrity: string;
}

/**
 * Fetches a package's tarball into `dir` with `npm pack` (npm's own cache,
 * proxy and registry settings apply) and checks it against the pinned
 * integrity before anything in it is used. Returns the tarball's path.
 */
export async function packVerified(pinned: PinnedPackage, dir: string, signal?: AbortSignal): Promise<string> {
  const packed = await runCommand("npm", ["pack", pinned.spec, "--json", "--pack-destination", dir], { cwd: dir, signal });
  const [entry] = JSON.parse(packed) as Array<{ filename: string }>;
  if (!entry) throw new Error(`npm pack ${pinned.spec} reported no file`);
  const tarball = join(dir, entry.filename);
  const integrity = await sha512Integrity(tarball);
  if (integrity !== pinned.integrity) {
    throw new Error(`${pinned.spec} failed its integrity check: expected ${pinned.integrity}, got ${integrity}`);
  }
  return tarball;
}

async function sha512Integrity(path: string): Promise<string> {
  const hash = createHash("sha512");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha512-${hash.digest("base64")}`;
}
