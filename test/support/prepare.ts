import { ensureFixtureModels } from "../../fixtures/generate.ts";
import { llamaServerForTests } from "./engine.ts";

/**
 * Everything the end-to-end tests need before they start: the engine (found,
 * or built once and cached: about 10 minutes the first time) and the
 * generated models. Each step is idempotent, so again it costs milliseconds.
 */
export async function prepareTestEnvironment(): Promise<void> {
  const started = performance.now();
  const engine = await llamaServerForTests();
  const models = await ensureFixtureModels({ onProgress: (line) => process.stderr.write(`[fixtures] ${line}\n`) });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stderr.write(`[prepare] llama-server: ${engine}\n[prepare] fixture models: ${models.dir} (${seconds} s)\n`);
}
