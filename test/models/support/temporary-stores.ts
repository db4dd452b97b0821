import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { openModelStore, type ModelStore } from "../../../src/models/store/model-store.ts";

/**
 * Opens stores in fresh temporary homes, every one removed by an `after` hook
 * of the enclosing suite.
 *
 * @example const freshStore = useTemporaryStores("modelgate-store-");
 */
export function useTemporaryStores(prefix: string): () => Promise<ModelStore> {
  const homes: string[] = [];
  after(() => Promise.all(homes.map((home) => rm(home, { recursive: true, force: true }))));
  return async () => {
    const home = await mkdtemp(join(tmpdir(), prefix));
    homes.push(home);
    return openModelStore({ home });
  };
}
