/**
 * `modelgate import-ollama [DIR]`: brings an Ollama installation's models
 * into the store, hard-linking their blobs.
 *
 * It runs here, on the store under MODELGATE_HOME, not through the server:
 * the server never reads a path a client names (a loopback check would
 * still let any local process or a rebinding web page have it hard-link
 * files it can read), and hard links need the store's own filesystem
 * anyway. The store is shared safely: blobs and manifests are
 * content-addressed and written atomically, and the index is changed only
 * under a file lock every process takes, so a running server lists the
 * imported models at once.
 */
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { openModelStore } from "../models/store/model-store.ts";
import { defaultOllamaModelsDir, importOllama } from "../models/store/ollama-import.ts";
import { loadConfig } from "../server/config.ts";
import { expectPositionals, parseCommandArgs, type Command } from "./command.ts";
import { progressPrinter } from "./progress-lines.ts";

export const importOllamaCommand: Command = {
  help: `Usage: modelgate import-ollama [DIR]

Imports the models of an Ollama installation (DIR, default OLLAMA_MODELS or ${defaultOllamaModelsDir})
into the store under MODELGATE_HOME, hard-linking their files where the
filesystem allows. A running server sees them at once. Models without GGUF
weights are skipped with the reason.

Options:
  -h, --help   show this help`,

  async run(args) {
    const { positionals } = parseCommandArgs(args, {});
    expectPositionals(positionals, [], 1);
    const dir = resolve(positionals[0] ?? (process.env.OLLAMA_MODELS || defaultOllamaModelsDir));
    const isDir = await stat(dir).then(
      (info) => info.isDirectory(),
      () => false,
    );
    if (!isDir) throw new Error(`${dir} is not a directory`);

    const store = await openModelStore({ home: loadConfig(process.env).home });
    const { imported, skipped } = await importOllama(store, dir, { onProgress: progressPrinter((line) => console.log(line)) });
    for (const { name, reason } of skipped) console.error(`skipped ${name}: ${reason}`);
    const names = imported.map((model) => String(model.tags.at(-1)));
    console.log(imported.length > 0 ? `imported ${names.join(", ")}` : `no models imported from ${dir}`);
    if (imported.length === 0 && skipped.length > 0) throw new Error("none of the models could be imported");
  },
};
