/** `modelgate stop MODEL`: unloads a running model now, as `ollama stop` does (`keep_alive: 0`). */
import { expectPositionals, parseCommandArgs, type Command } from "./command.ts";
import { serverClient } from "./server-client.ts";

export const stopCommand: Command = {
  help: `Usage: modelgate stop MODEL

Unloads MODEL's runner (once its requests in flight are done).

Options:
  -h, --help   show this help`,

  async run(args) {
    const [model] = expectPositionals(parseCommandArgs(args, {}).positionals, ["MODEL"]);
    await serverClient().post("/api/generate", { model, keep_alive: 0, stream: false });
  },
};
