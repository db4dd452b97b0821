import { runCommand, type Command } from "./command.ts";
import { createCommand } from "./create.ts";
import { importOllamaCommand } from "./import-ollama.ts";
import { serveCommand } from "./serve.ts";

const commands: Readonly<Record<string, Command>> = {
  serve: serveCommand,
  create: createCommand,
  "import-ollama": importOllamaCommand,
};

const usage = `Usage: modelgate <command> [options]

Commands:
${Object.entries(commands)
  .map(([name, command]) => `  ${name.padEnd(15)}${command.summary}`)
  .join("\n")}

Run "modelgate <command> --help" for a command's options.`;

const [name, ...rest] = process.argv.slice(2);
const command = name === undefined ? undefined : commands[name];

if (command) {
  await runCommand(name!, command, rest);
} else if (name === undefined || name === "help" || name === "--help" || name === "-h") {
  console.log(usage);
} else {
  console.error(`modelgate: unknown command ${JSON.stringify(name)}\n\n${usage}`);
  process.exit(2);
}
