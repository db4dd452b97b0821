import { runCommand, type Command } from "./command.ts";

interface CommandEntry {
  /** One line for `modelgate --help`. */
  readonly summary: string;
  /** Imported only when run: a command loads only what it needs, and starts fast. */
  readonly load: () => Promise<Command>;
}

const commands: Readonly<Record<string, CommandEntry>> = {
  serve: { summary: "Start the gateway (default 127.0.0.1:11434)", load: async () => (await import("./serve.ts")).serveCommand },
  run: { summary: "Chat with a model, or answer one prompt", load: async () => (await import("./run.ts")).runModelCommand },
  pull: { summary: "Pull a model from a registry", load: async () => (await import("./transfer.ts")).pullCommand },
  push: { summary: "Push a model to a registry", load: async () => (await import("./transfer.ts")).pushCommand },
  ls: { summary: "List models (also: list)", load: async () => (await import("./list.ts")).listCommand },
  ps: { summary: "List loaded models", load: async () => (await import("./ps.ts")).psCommand },
  show: { summary: "Show a model's details", load: async () => (await import("./show.ts")).showCommand },
  cp: { summary: "Copy a model under another name", load: async () => (await import("./copy.ts")).copyCommand },
  rm: { summary: "Remove models", load: async () => (await import("./remove.ts")).removeCommand },
  stop: { summary: "Unload a running model", load: async () => (await import("./stop.ts")).stopCommand },
  create: { summary: "Create a model from a GGUF file", load: async () => (await import("./create.ts")).createCommand },
  "import-ollama": {
    summary: "Import the models of an Ollama installation (no copies)",
    load: async () => (await import("./import-ollama.ts")).importOllamaCommand,
  },
  logs: { summary: "Show the server's and its runners' logs", load: async () => (await import("./logs.ts")).logsCommand },
  engines: { summary: "Show or install the inference engines", load: async () => (await import("./engines.ts")).enginesCommand },
  version: { summary: "Show the client's and the server's versions", load: async () => (await import("./version.ts")).versionCommand },
};

const aliases: Readonly<Record<string, string>> = { list: "ls", "--version": "version", "-v": "version" };

const usage = `Usage: modelgate <command> [options]

Commands:
${Object.entries(commands)
  .map(([name, command]) => `  ${name.padEnd(15)}${command.summary}`)
  .join("\n")}

The server is found at MODELGATE_HOST (or OLLAMA_HOST), default 127.0.0.1:11434.
Run "modelgate <command> --help" for a command's options.`;

const [given, ...rest] = process.argv.slice(2);
const name = given !== undefined && Object.hasOwn(aliases, given) ? aliases[given] : given;
const entry = name !== undefined && Object.hasOwn(commands, name) ? commands[name] : undefined;

if (entry) {
  await runCommand(name!, await entry.load(), rest);
} else if (name === undefined || name === "help" || name === "--help" || name === "-h") {
  console.log(usage);
} else {
  console.error(`modelgate: unknown command ${JSON.stringify(name)}\n\n${usage}`);
  process.exit(2);
}
