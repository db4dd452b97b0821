/** `modelgate pull MODEL` and `modelgate push MODEL`: a registry transfer the server runs, its progress shown here. */
import { expectPositionals, parseCommandArgs, type Command } from "./command.ts";
import { followProgress, withProgressView } from "./progress-lines.ts";
import { serverClient, type ServerClient } from "./server-client.ts";

type Direction = "pull" | "push";

const descriptions: Readonly<Record<Direction, string>> = {
  pull: "Pulls MODEL from its registry (an OCI registry, or hf.co/{org}/{repo}[:{quant}]) into the server's store.",
  push: "Pushes MODEL from the server's store to the registry its name starts with.",
};

/** Runs one transfer on the server, showing its progress, until it succeeds or fails. */
export async function transferModel(server: ServerClient, direction: Direction, model: string, insecure: boolean): Promise<void> {
  const response = await server.post(`/api/${direction}`, { model, insecure, stream: true });
  await withProgressView((view) => followProgress(response, view.show));
}

function transferCommand(direction: Direction): Command {
  return {
    help: `Usage: modelgate ${direction} MODEL [--insecure]

${descriptions[direction]}
A progress bar with speed and time left on a terminal, plain lines otherwise.

Options:
  --insecure   allow a registry over plain HTTP
  -h, --help   show this help`,

    async run(args) {
      const { values, positionals } = parseCommandArgs(args, { insecure: { type: "boolean", default: false } });
      const [model] = expectPositionals(positionals, ["MODEL"]);
      await transferModel(serverClient(), direction, model, values.insecure);
    },
  };
}

export const pullCommand = transferCommand("pull");
export const pushCommand = transferCommand("push");
