import { serveCommand } from "./serve.ts";

const usage = `Usage: modelgate <command> [options]

Commands:
  serve        Start the gateway (default 127.0.0.1:11434)

Run "modelgate <command> --help" for a command's options.`;

const [command, ...rest] = process.argv.slice(2);

switch (command) {
  case "serve":
    await serveCommand(rest);
    break;
  case undefined:
  case "help":
  case "--help":
  case "-h":
    console.log(usage);
    break;
  default:
    console.error(`modelgate: unknown command ${JSON.stringify(command)}\n\n${usage}`);
    process.exit(2);
}

