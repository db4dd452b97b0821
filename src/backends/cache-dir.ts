import { homedir } from "node:os";
import { join } from "node:path";

/**
 * Where engine builds and sources are cached: `MODELGATE_CACHE_DIR`, else
 * `$XDG_CACHE_HOME/modelgate`, else `~/.cache/modelgate`. Read on each call so
 * tests can point it at a temporary directory.
 */
export function engineCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MODELGATE_CACHE_DIR) return env.MODELGATE_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, "modelgate");
  return join(homedir(), ".cache", "modelgate");
}
