import { ModelNotFoundError, type FixtureModelPaths } from "../model-resolver.ts";
import { parseNamedReference } from "../reference.ts";
import { importGGUF } from "./gguf-import.ts";
import type { ModelStore } from "./model-store.ts";

/** The generated fixtures, under the names the interim resolver gave them. */
const demoNames = {
  tiny: "chat",
  "tiny-embed": "embedding",
  "tiny-draft": "draft",
  "tiny-tools": "tools",
} as const satisfies Record<string, keyof FixtureModelPaths>;

/**
 * Registers the generated tiny models as `tiny`, `tiny-embed`, `tiny-draft`
 * and `tiny-tools` (`:latest`), so a fresh install can chat without a
 * download. Hard-linked where the filesystem allows (the fixtures are
 * written once and renamed into place, never rewritten). Names already
 * present are left alone, so calling it at every start costs a lookup.
 *
 * @example await registerDemoModels(store, await ensureFixtureModels());
 */
export async function registerDemoModels(store: ModelStore, paths: FixtureModelPaths): Promise<void> {
  for (const [name, role] of Object.entries(demoNames) as [keyof typeof demoNames, keyof FixtureModelPaths][]) {
    const tag = parseNamedReference(name);
    const present = await store.find(tag).then(
      () => true,
      (error: unknown) => {
        if (error instanceof ModelNotFoundError) return false;
        throw error;
      },
    );
    if (!present) await importGGUF(store, paths[role], { tags: [tag], link: true });
  }
}
