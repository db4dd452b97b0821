import { join } from "node:path";
import { engineCacheDir } from "../cache-dir.ts";
import { ensureDirectory, exists } from "../../utilities/atomic-directory.ts";
import { runCommand } from "../run-command.ts";
import { sharedTasks } from "../../utilities/shared-task.ts";
import { packVerified } from "./npm-package.ts";

/**
 * The llama.cpp source modelgate builds: the git bundle that the npm package
 * node-llama-cpp ships. Pinned by version, tarball integrity and commit, so an
 * upgrade is one deliberate edit here.
 */
export const llamaCppSource = {
  spec: "node-llama-cpp@3.22.1",
  integrity: "sha512-bltIipuWmc123H7tMIgDGKSsSrhmhlQYeVUC48XTjVW7XGJJiJJyCdlTMzQ/LiWoPkGDpcL4FviDpgw7qfTiDw==",
  bundlePath: "package/llama/gitRelease.bundle",
  commit: "de3ff815ea7d559ee917f063901b8986f038abc6",
} as const;

export interface LlamaCppSource {
  readonly dir: string;
  readonly commit: string;
}

export interface EnsureSourceOptions {
  readonly onProgress?: (line: string) => void;
  readonly signal?: AbortSignal;
}

/** `<engine cache dir>/llama.cpp/<commit>`: the source and every build of it. */
export function llamaCppCacheDir(): string {
  return join(engineCacheDir(), "llama.cpp", llamaCppSource.commit);
}

const shared = sharedTasks<LlamaCppSource, string>();

/**
 * Ensures the pinned llama.cpp source is checked out in the cache, fetching
 * and cloning it the first time. The checkout appears under its final name
 * only once complete; processes racing for it wait on a lock file.
 */
export async function ensureLlamaCppSource(options: EnsureSourceOptions = {}): Promise<LlamaCppSource> {
  const root = llamaCppCacheDir();
  const source = { dir: join(root, "src"), commit: llamaCppSource.commit };
  if (await exists(source.dir)) return source;
  return shared(
    source.dir,
    async (signal, emit) => {
      await ensureDirectory(source.dir, (scratch) => fetchAndClone(scratch, signal, emit), {
        signal,
        onWait: (pid) => emit(`waiting for process ${pid}, which is fetching the llama.cpp source`),
      });
      return source;
    },
    options,
  );
}

/** Fetches the package into `work`, clones its bundle there and returns the checkout. */
async function fetchAndClone(work: string, signal: AbortSignal, emit: (line: string) => void): Promise<string> {
  emit(`downloading ${llamaCppSource.spec} (about 35 MB) for its llama.cpp source`);
  const tarball = await packVerified(llamaCppSource, work, signal);

  emit("extracting the llama.cpp git bundle");
  await runCommand("tar", ["-xzf", tarball, "-C", work, llamaCppSource.bundlePath], { signal });

  emit(`cloning llama.cpp ${llamaCppSource.commit.slice(0, 7)}`);
  const checkout = join(work, "src");
  await runCommand("git", ["clone", "--quiet", "--no-checkout", join(work, llamaCppSource.bundlePath), checkout], { signal });
  await runCommand("git", ["-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", llamaCppSource.commit], { cwd: checkout, signal });
  return checkout;
}
