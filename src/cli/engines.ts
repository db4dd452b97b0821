/**
 * `modelgate engines`: each backend's state (`GET /engines/status`).
 * `modelgate engines install`: follows the engine install the server runs
 * from its start (finding llama-server, or building it, about ten minutes
 * the first time), with its progress, until it is ready or has failed.
 */
import { setTimeout as sleep } from "node:timers/promises";
import * as v from "valibot";
import { expectPositionals, parseCommandArgs, UsageError, type Command } from "./command.ts";
import { withProgressView } from "./progress-lines.ts";
import { serverClient, type ServerClient } from "./server-client.ts";
import { table } from "./table.ts";

const StatusSchema = v.record(v.string(), v.string());

/** How often the install's progress is asked for. */
const pollMs = 500;

export const enginesCommand: Command = {
  help: `Usage: modelgate engines [install]

Without an argument, shows each inference engine's state: installed (which
binary, and where from), installing, or why its installation failed.

  install   wait for the server's engine installation to finish, showing
            its progress (a bar on a terminal, plain lines otherwise);
            exits 1 if it failed. A failed install is tried again by the
            next request that needs the engine.

Options:
  -h, --help   show this help`,

  async run(args) {
    const { positionals } = parseCommandArgs(args, {});
    expectPositionals(positionals, [], 1);
    const [action] = positionals;
    if (action !== undefined && action !== "install") throw new UsageError(`unknown action ${JSON.stringify(action)}`);
    const server = serverClient();
    if (action === "install") return followInstall(server);
    const statuses = await server.json("/engines/status", StatusSchema);
    console.log(table(["ENGINE", "STATUS"], Object.entries(statuses)));
  },
};

async function followInstall(server: ServerClient): Promise<void> {
  const statuses = await withProgressView(
    async ({ show }) => {
      for (;;) {
        const statuses = await server.json("/engines/status", StatusSchema);
        const installing = Object.entries(statuses).filter(([, status]) => status.startsWith("installing"));
        if (installing.length === 0) return statuses;
        for (const [engine, status] of installing) show(installProgress(engine, status));
        await sleep(pollMs);
      }
    },
    { counts: "percent" },
  );
  for (const [engine, status] of Object.entries(statuses)) console.log(`${engine}: ${status}`);
  const failed = Object.keys(statuses).filter((engine) => statuses[engine]!.startsWith("installation failed"));
  if (failed.length > 0) throw new Error(`${failed.join(", ")} could not be installed`);
}

/**
 * `installing: llama-server build 42%: [42%] Building CXX …` as progress: the stage
 * is the step, the percent its share done.
 */
function installProgress(engine: string, status: string) {
  const match = /^installing: llama-server (\w+)(?: (\d+)%)?: (.*)$/.exec(status);
  if (!match) return { status: `${engine}: installing` };
  const [, stage, percent] = match;
  return percent === undefined ? { status: `${engine}: ${stage}: ${match[3]}` } : { status: `${engine}: ${stage}`, total: 100, completed: Number(percent) };
}
