/** `modelgate show MODEL`: a model's facts and capabilities, as `ollama show` prints them, or one of its parts. */
import { ShowReplySchema } from "./api-replies.ts";
import { expectPositionals, parseCommandArgs, UsageError, type Command } from "./command.ts";
import { serverClient } from "./server-client.ts";

const parts = ["modelfile", "template", "parameters", "license"] as const;

export const showCommand: Command = {
  help: `Usage: modelgate show MODEL [--modelfile | --template | --parameters | --license]

Shows MODEL's architecture, parameter count, context and embedding lengths,
quantization and capabilities, or only the part a flag names.

Options:
  --modelfile    the Modelfile
  --template     the chat template
  --parameters   the default parameters
  --license      the license
  -h, --help     show this help`,

  async run(args) {
    const { values, positionals } = parseCommandArgs(args, Object.fromEntries(parts.map((part) => [part, { type: "boolean" }])));
    const [model] = expectPositionals(positionals, ["MODEL"]);
    const chosen = parts.filter((part) => values[part]);
    if (chosen.length > 1) throw new UsageError(`choose one of ${chosen.map((part) => `--${part}`).join(", ")}`);
    const reply = await serverClient().json("/api/show", ShowReplySchema, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model }),
    });
    const [part] = chosen;
    if (part) return console.log(reply[part]);

    const info = reply.model_info;
    const architecture = String(info["general.architecture"] ?? reply.details.family);
    const facts: [string, unknown][] = [
      ["architecture", architecture],
      ["parameters", reply.details.parameter_size],
      ["context length", info[`${architecture}.context_length`]],
      ["embedding length", info[`${architecture}.embedding_length`]],
      ["quantization", reply.details.quantization_level],
    ];
    const sections: [string, string[]][] = [
      ["Model", facts.filter(([, value]) => value !== undefined && value !== "").map(([key, value]) => `${key.padEnd(20)}${String(value)}`)],
      ["Capabilities", reply.capabilities ?? []],
      ["License", reply.license.trim() ? reply.license.trim().split("\n").slice(0, 2) : []],
    ];
    console.log(
      sections
        .filter(([, lines]) => lines.length > 0)
        .map(([title, lines]) => [`  ${title}`, ...lines.map((line) => `    ${line}`)].join("\n"))
        .join("\n\n") + "\n",
    );
  },
};
