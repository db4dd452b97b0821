/** `modelgate cp SOURCE DESTINATION`: another name for the same model; no bytes are copied. */
import { expectPositionals, parseCommandArgs, type Command } from "./command.ts";
import { serverClient } from "./server-client.ts";

export const copyCommand: Command = {
  help: `Usage: modelgate cp SOURCE DESTINATION

Names the model SOURCE also DESTINATION (the files are shared, not copied).

Options:
  -h, --help   show this help`,

  async run(args) {
    const [source, destination] = expectPositionals(parseCommandArgs(args, {}).positionals, ["SOURCE", "DESTINATION"]);
    await serverClient().post("/api/copy", { source, destination });
    console.log(`copied '${source}' to '${destination}'`);
  },
};
