/** `modelgate ps`: the loaded models, as `ollama ps` shows them. */
import { PsReplySchema, shortId } from "./api-replies.ts";
import { expectPositionals, parseCommandArgs, type Command } from "./command.ts";
import { humanBytes, humanTime } from "./human-format.ts";
import { serverClient } from "./server-client.ts";
import { table } from "./table.ts";

export const psCommand: Command = {
  help: `Usage: modelgate ps

Lists the loaded models: NAME, ID, SIZE (memory), PROCESSOR (CPU/GPU share),
CONTEXT (tokens per request) and UNTIL (when an idle model is unloaded).

Options:
  -h, --help   show this help`,

  async run(args) {
    expectPositionals(parseCommandArgs(args, {}).positionals, []);
    const { models } = await serverClient().json("/api/ps", PsReplySchema);
    const rows = models.map((model) => [
      model.name,
      shortId(model.digest),
      humanBytes(model.size),
      processor(model.size, model.size_vram),
      String(model.context_length ?? ""),
      until(new Date(model.expires_at)),
    ]);
    console.log(table(["NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL"], rows));
  },
};

/**
 * @example processor(100, 0) // "100% CPU"
 * @example processor(100, 75) // "25%/75% CPU/GPU"
 */
export function processor(size: number, vram: number): string {
  if (vram === 0) return "100% CPU";
  if (vram === size) return "100% GPU";
  if (vram > size || size === 0) return "Unknown";
  const cpu = Math.round(((size - vram) / size) * 100);
  return `${cpu}%/${100 - cpu}% CPU/GPU`;
}

function until(expiry: Date): string {
  return expiry.getTime() <= Date.now() ? "Stopping..." : humanTime(expiry);
}
