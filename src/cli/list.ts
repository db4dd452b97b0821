/** `modelgate ls`: the server's models, newest first, as `ollama ls` shows them. */
import { TagsReplySchema, shortId } from "./api-replies.ts";
import { expectPositionals, parseCommandArgs, type Command } from "./command.ts";
import { humanBytes, humanTime } from "./human-format.ts";
import { serverClient } from "./server-client.ts";
import { table } from "./table.ts";

export const listCommand: Command = {
  help: `Usage: modelgate ls

Lists the server's models: NAME, ID (the digest's first 12 hex digits), SIZE, MODIFIED.
Also: modelgate list.

Options:
  -h, --help   show this help`,

  async run(args) {
    expectPositionals(parseCommandArgs(args, {}).positionals, []);
    const { models } = await serverClient().json("/api/tags", TagsReplySchema);
    const newestFirst = models.toSorted((a, b) => Date.parse(b.modified_at) - Date.parse(a.modified_at) || a.name.localeCompare(b.name));
    const rows = newestFirst.map((model) => [model.name, shortId(model.digest), humanBytes(model.size), humanTime(new Date(model.modified_at))]);
    console.log(table(["NAME", "ID", "SIZE", "MODIFIED"], rows));
  },
};
