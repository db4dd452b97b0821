/**
 * How each model runs, as set through `/engines/_configure`: one small JSON
 * file per model next to its manifest, so a configuration survives a
 * restart and goes when the model goes. Files are read back as untrusted
 * input (someone may edit them): one that does not parse is skipped with a
 * warning, never a reason not to start.
 */
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import * as v from "valibot";
import { BackendConfigurationSchema, parseBackendConfiguration, type BackendConfiguration } from "../../inference/backend-configuration.ts";
import { backendModes, type BackendMode } from "../../inference/backend-mode.ts";
import { isSha256Digest } from "../reference.ts";
import { writeFileAtomic } from "../../utilities/atomic-file.ts";
import { parseJson } from "./manifest.ts";
import type { StoreLayout } from "./store-layout.ts";

/** One model's configuration for one backend and mode. */
export interface StoredConfiguration {
  readonly backend: string;
  readonly mode: BackendMode;
  /** The runner's keep-alive (ms; 0 unload once idle, negative forever); absent: the gateway's default. */
  readonly keepAliveMs?: number;
  readonly config: BackendConfiguration;
}

const FileSchema = v.object({
  version: v.literal(1),
  configurations: v.array(
    v.object({
      backend: v.pipe(v.string(), v.nonEmpty()),
      mode: v.picklist(backendModes),
      keep_alive_ms: v.optional(v.pipe(v.number(), v.integer())),
      config: BackendConfigurationSchema,
    }),
  ),
});

export interface ModelConfigurations {
  /** Every stored configuration, by model id. */
  readAll(): Promise<Map<string, StoredConfiguration[]>>;
  /** Replaces a model's configurations, atomically; none removes its file. */
  write(modelId: string, configurations: readonly StoredConfiguration[]): Promise<void>;
}

/**
 * @example
 * const configurations = createModelConfigurations(store.layout, logger);
 * createLoader({ ...options, configurations: { stored: await configurations.readAll(), save: configurations.write } });
 */
export function createModelConfigurations(layout: StoreLayout, logger: Logger): ModelConfigurations {
  const pathOf = (modelId: string) => {
    if (!isSha256Digest(modelId)) throw new Error(`model id ${JSON.stringify(modelId.slice(0, 100))} is not a sha256 digest`);
    return layout.configuration(modelId);
  };

  const readOne = async (file: string): Promise<StoredConfiguration[]> => {
    const stored = parseJson(await readFile(file), FileSchema, `model configuration ${file}`);
    return stored.configurations.map(({ backend, mode, keep_alive_ms, config }) => ({
      backend,
      mode,
      ...(keep_alive_ms === undefined ? {} : { keepAliveMs: keep_alive_ms }),
      // What reaches a command line is checked as strictly as a request's.
      config: parseBackendConfiguration(config),
    }));
  };

  return {
    async readAll() {
      let names: string[];
      try {
        names = await readdir(layout.configurationsDir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return new Map();
        throw error;
      }
      const all = new Map<string, StoredConfiguration[]>();
      for (const name of names) {
        const modelId = `sha256:${name.replace(/\.json$/, "")}`;
        if (!name.endsWith(".json") || !isSha256Digest(modelId)) continue;
        const file = join(layout.configurationsDir, name);
        try {
          all.set(modelId, await readOne(file));
        } catch (error) {
          logger.warn({ err: error, file }, "ignoring a model configuration that cannot be read");
        }
      }
      return all;
    },

    async write(modelId, configurations) {
      const path = pathOf(modelId);
      if (configurations.length === 0) return rm(path, { force: true });
      const file: v.InferInput<typeof FileSchema> = {
        version: 1,
        configurations: configurations.map(({ backend, mode, keepAliveMs, config }) => ({
          backend,
          mode,
          ...(keepAliveMs === undefined ? {} : { keep_alive_ms: keepAliveMs }),
          config,
        })),
      };
      await mkdir(layout.configurationsDir, { recursive: true });
      await writeFileAtomic(path, `${JSON.stringify(file, null, 1)}\n`, layout.tmpDir);
    },
  };
}
