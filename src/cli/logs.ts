/** `modelgate logs [-f]`: the server's recent log lines and its runners' stderr, then new ones with -f. */
import { expectPositionals, parseCommandArgs, UsageError, type Command } from "./command.ts";
import { serverClient } from "./server-client.ts";

export const logsCommand: Command = {
  help: `Usage: modelgate logs [-f] [--model MODEL] [-n LINES]

Prints the server's recent log lines and what its runners (llama-server)
wrote on stderr, oldest first. The server keeps the last 2000 lines of
each source.

Options:
  -f, --follow         keep printing new lines until interrupted
  --model MODEL        only the lines of MODEL's runners
  -n, --tail LINES     start with the last LINES lines
  -h, --help           show this help`,

  async run(args) {
    const { values, positionals } = parseCommandArgs(args, {
      follow: { type: "boolean", short: "f", default: false },
      model: { type: "string" },
      tail: { type: "string", short: "n" },
    });
    expectPositionals(positionals, []);
    if (values.tail !== undefined && !/^\d+$/.test(values.tail)) throw new UsageError(`--tail takes a number of lines, not ${JSON.stringify(values.tail)}`);
    const query = new URLSearchParams({
      ...(values.follow ? { follow: "1" } : {}),
      ...(values.model === undefined ? {} : { model: values.model }),
      ...(values.tail === undefined ? {} : { tail: values.tail }),
    });
    const response = await serverClient().call(`/logs?${query}`);
    for await (const chunk of response.body ?? []) process.stdout.write(chunk);
  },
};
