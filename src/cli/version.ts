/** `modelgate version`: this client's version, and the running server's. */
import * as v from "valibot";
import { ModelgateVersionHeader, modelgateVersion } from "../server/version.ts";
import { VersionReplySchema } from "./api-replies.ts";
import { expectPositionals, parseCommandArgs, type Command } from "./command.ts";
import { serverClient } from "./server-client.ts";

export const versionCommand: Command = {
  help: `Usage: modelgate version

Prints this client's version, then the running server's: its modelgate
version and the Ollama API version it answers clients with.
Also: modelgate --version, modelgate -v.

Options:
  -h, --help   show this help`,

  async run(args) {
    expectPositionals(parseCommandArgs(args, {}).positionals, []);
    console.log(`modelgate version ${modelgateVersion}`);
    const server = serverClient();
    const response = await server.call("/api/version");
    const { version } = v.parse(VersionReplySchema, await response.json());
    console.log(`server at ${server.url}: modelgate ${response.headers.get(ModelgateVersionHeader) ?? "(unknown)"}, Ollama API ${version}`);
  },
};

