/** `modelgate rm MODEL…`: removes names; a model's files go with its last name. */
import { parseCommandArgs, UsageError, type Command } from "./command.ts";
import { serverClient } from "./server-client.ts";

export const removeCommand: Command = {
  help: `Usage: modelgate rm MODEL [MODEL...]

Removes each MODEL name; a model's files are deleted with its last name,
and its runner is stopped then.

Options:
  -h, --help   show this help`,

  async run(args) {
    const { positionals } = parseCommandArgs(args, {});
    if (positionals.length === 0) throw new UsageError("MODEL is required");
    const server = serverClient();
    for (const model of positionals) {
      await server.call("/api/delete", { method: "DELETE", headers: { "content-type": "application/json" }, body: JSON.stringify({ model }) });
      console.log(`deleted '${model}'`);
    }
  },
};
