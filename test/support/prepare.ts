import { ensureFixtureModels } from "../../fixtures/generate.ts";
import { llamaServerForTests } from "./engine.ts";
import { requireRegistry } from "./registry.ts";

/**
 * Everything the end-to-end tests need before they start: a registry binary
 * (installed by `.ci/run`), the engine (found, or made once and cached, as
 * `modelgate serve` makes it: from an empty cache llama-server compiled on
 * npm's prebuilt libraries, a cached source build is used as it is) and the
 * generated models. Each step is idempotent, so again it costs milliseconds.
 */
export async function prepareTestEnvironment(): Promise<void> {
  const started = performance.now();
  await requireRegistry();
  const engine = await llamaServerForTests();
  const models = await ensureFixtureModels({ onProgress: (line) => process.stderr.write(`[fixtures] ${line}\n`) });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stderr.write(`[prepare] llama-server: ${engine}\n[prepare] fixture models: ${models.dir} (${seconds} s)\n`);
}
