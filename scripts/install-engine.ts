/**
 * Prepares everything the gateway builds on first start, ahead of time: the
 * llama-server engine (compiled on npm's prebuilt llama.cpp libraries, else
 * built from the pinned llama.cpp source, or found) and
 * the demo models. Prints the engine's path on stdout, progress on stderr.
 * The container image runs it in its build stage
 * (`node --import tsx scripts/install-engine.ts`).
 */
import { describeInstallProgress, ensureLlamaServer } from "../src/backends/llamacpp/install.ts";
import { ensureFixtureModels } from "../fixtures/generate.ts";

const server = await ensureLlamaServer({
  onProgress: (progress) => process.stderr.write(`${describeInstallProgress(progress)}\n`),
});
const models = await ensureFixtureModels({ onProgress: (line) => process.stderr.write(`[demo models] ${line}\n`) });
process.stderr.write(`[demo models] ${models.dir}\n`);
process.stdout.write(`${server.path}\n`);
