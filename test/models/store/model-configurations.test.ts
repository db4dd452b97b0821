import assert from "node:assert/strict";
import { access, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { pino } from "pino";
import { ensureFixtureModels, type FixtureModels } from "../../../fixtures/generate.ts";
import { parseNamedReference } from "../../../src/models/reference.ts";
import { importGGUF } from "../../../src/models/store/gguf-import.ts";
import { createModelConfigurations, type StoredConfiguration } from "../../../src/models/store/model-configurations.ts";
import { useTemporaryStores } from "../support/temporary-stores.ts";

const freshStore = useTemporaryStores("modelgate-configurations-");
let fixtures: FixtureModels;
before(async () => {
  fixtures = await ensureFixtureModels();
});

/** A logger whose warnings the test can read. */
function recordingLogger() {
  const warnings: Array<Record<string, unknown>> = [];
  const logger = pino({ level: "warn" }, { write: (line: string) => warnings.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, warnings };
}

const idA = `sha256:${"a".repeat(64)}`;
const idB = `sha256:${"b".repeat(64)}`;

const speculative: StoredConfiguration = {
  backend: "llama.cpp",
  mode: "completion",
  keepAliveMs: 600_000,
  config: { "context-size": 2048, speculative: { draft_model: "tiny-draft", num_tokens: 4 }, "runtime-flags": ["--threads", "2"] },
};
const embedding: StoredConfiguration = { backend: "llama.cpp", mode: "embedding", config: { "context-size": 512 } };

describe("stored model configurations", () => {
  it("read back what was written, per model, in a new instance (as after a restart)", async () => {
    const store = await freshStore();
    const { logger, warnings } = recordingLogger();
    await createModelConfigurations(store.layout, logger).write(idA, [speculative, embedding]);
    await createModelConfigurations(store.layout, logger).write(idB, [embedding]);
    const all = await createModelConfigurations(store.layout, logger).readAll();
    assert.deepEqual(all, new Map([[idA, [speculative, embedding]], [idB, [embedding]]]));
    assert.deepEqual(warnings, []);
  });

  it("reads nothing from a store that never had one", async () => {
    const store = await freshStore();
    assert.deepEqual(await createModelConfigurations(store.layout, recordingLogger().logger).readAll(), new Map());
  });

  it("writing none removes the model's file", async () => {
    const store = await freshStore();
    const configurations = createModelConfigurations(store.layout, recordingLogger().logger);
    await configurations.write(idA, [embedding]);
    await configurations.write(idA, []);
    assert.deepEqual(await readdir(store.layout.configurationsDir), []);
    assert.deepEqual(await configurations.readAll(), new Map());
  });

  it("skips, with a warning, a file that is not JSON, has the wrong shape, or carries a flag with a path", async () => {
    const store = await freshStore();
    const { logger, warnings } = recordingLogger();
    const configurations = createModelConfigurations(store.layout, logger);
    await configurations.write(idA, [embedding]);
    const corrupt = [
      ["c", "{ not json"],
      ["d", JSON.stringify({ version: 1, configurations: [{ backend: "llama.cpp", mode: "sideways", config: {} }] })],
      ["e", JSON.stringify({ version: 1, configurations: [{ backend: "llama.cpp", mode: "completion", config: { "runtime-flags": ["--threads", "/etc/passwd"] } }] })],
    ];
    for (const [letter, text] of corrupt) await writeFile(join(store.layout.configurationsDir, `${letter!.repeat(64)}.json`), text!);
    await writeFile(join(store.layout.configurationsDir, "notes.txt"), "not a configuration");

    assert.deepEqual(await configurations.readAll(), new Map([[idA, [embedding]]]));
    assert.equal(warnings.length, 3);
    for (const warning of warnings) assert.equal(warning.msg, "ignoring a model configuration that cannot be read");
    assert.match(JSON.stringify(warnings), /not JSON/);
    assert.match(JSON.stringify(warnings), /path/);
  });

  it("refuses a model id that is not a digest, so no name becomes a path", async () => {
    const store = await freshStore();
    const configurations = createModelConfigurations(store.layout, recordingLogger().logger);
    await assert.rejects(configurations.write("../../etc/x", [embedding]), /not a sha256 digest/);
  });

  it("goes when its model is removed from the store", async () => {
    const store = await freshStore();
    const model = await importGGUF(store, fixtures.chat, { tags: [parseNamedReference("chat")], link: true });
    const configurations = createModelConfigurations(store.layout, recordingLogger().logger);
    await configurations.write(model.id, [speculative]);
    await access(store.layout.configuration(model.id));
    await store.remove("chat");
    assert.deepEqual(await configurations.readAll(), new Map());
  });
});
