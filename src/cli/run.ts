/**
 * `modelgate run MODEL [PROMPT]`, as `ollama run`: pulls the model when the
 * server lacks it, then answers the prompt (from the arguments and, when
 * piped, stdin) and exits, or with neither on a terminal opens a chat.
 */
import { text } from "node:stream/consumers";
import { chatStatistics, streamChat, type ChatSettings } from "./chat-stream.ts";
import { expectPositionals, parseCommandArgs, UsageError, type Command } from "./command.ts";
import { interactiveChat } from "./interactive-chat.ts";
import { setParameter, type ModelParameters } from "./model-parameters.ts";
import { ServerError, serverClient, type ServerClient } from "./server-client.ts";
import { transferModel } from "./transfer.ts";

export const runModelCommand: Command = {
  help: `Usage: modelgate run MODEL [PROMPT...] [options]

Answers PROMPT (and what is piped on stdin, before it) with MODEL, streamed,
then exits. With no prompt on a terminal, opens a chat that keeps the
conversation (type /? there for its commands). A model the server lacks is
pulled first.

Options:
  -p, --parameter NAME=VALUE   a model parameter, repeatable (num_predict=64, temperature=0.2, stop=END)
  --format json                answer in JSON
  --keepalive DURATION         how long the model stays loaded after (5m, 1h30m, 0; negative: forever)
  --verbose                    print token counts and rates after each answer (on stderr)
  --insecure                   allow a registry over plain HTTP when pulling
  -h, --help                   show this help`,

  async run(args) {
    const { values, positionals } = parseCommandArgs(args, {
      parameter: { type: "string", short: "p", multiple: true, default: [] },
      format: { type: "string" },
      keepalive: { type: "string" },
      verbose: { type: "boolean", default: false },
      insecure: { type: "boolean", default: false },
    });
    const [model] = expectPositionals(positionals, ["MODEL"], Infinity);
    if (values.format !== undefined && values.format !== "json") throw new UsageError(`--format must be json, not ${JSON.stringify(values.format)}`);
    const settings: ChatSettings = {
      model,
      parameters: parseParameters(values.parameter),
      ...(values.format === undefined ? {} : { format: values.format }),
      ...(values.keepalive === undefined ? {} : { keepAlive: values.keepalive }),
    };

    const server = serverClient();
    await ensureModel(server, model, values.insecure);
    // `echo … |` ends with a newline that is no part of the prompt.
    const piped = process.stdin.isTTY ? "" : (await text(process.stdin)).trimEnd();
    const prompt = [piped, ...positionals.slice(1)].filter((part) => part.trim()).join(" ");
    if (!prompt && process.stdin.isTTY) return interactiveChat(server, settings, { verbose: values.verbose });
    if (!prompt) throw new Error("nothing to answer: give a PROMPT, or pipe one on stdin");

    const reply = await streamChat(server, settings, [{ role: "user", content: prompt }], (chunk) => process.stdout.write(chunk));
    process.stdout.write("\n");
    if (values.verbose) console.error(chatStatistics(reply));
  },
};

/** `--parameter NAME=VALUE`s, each checked against the parameter's kind. */
function parseParameters(assignments: readonly string[]): ModelParameters {
  return assignments.reduce<ModelParameters>((parameters, assignment) => {
    const equals = assignment.indexOf("=");
    if (equals <= 0) throw new UsageError(`--parameter takes NAME=VALUE, not ${JSON.stringify(assignment)}`);
    try {
      return setParameter(parameters, assignment.slice(0, equals), assignment.slice(equals + 1));
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }, {});
}

/** As `ollama run`: a model the server does not have is pulled, with progress. */
async function ensureModel(server: ServerClient, model: string, insecure: boolean): Promise<void> {
  try {
    await (await server.post("/api/show", { model })).body?.cancel();
  } catch (error) {
    if (!(error instanceof ServerError && error.status === 404)) throw error;
    await transferModel(server, "pull", model, insecure);
  }
}
