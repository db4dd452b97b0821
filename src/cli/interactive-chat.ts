/**
 * The chat `modelgate run MODEL` opens on a terminal, as `ollama run` does:
 * answers streamed as they come, the conversation kept across turns,
 * multi-line input between `"""`, and slash commands. Ctrl+C stops an
 * answer; Ctrl+D or `/bye` leaves.
 */
import { createInterface } from "node:readline";
import { chatStatistics, streamChat, type ChatMessage, type ChatSettings } from "./chat-stream.ts";
import { parameterNames, setParameter } from "./model-parameters.ts";
import type { ServerClient } from "./server-client.ts";

const help = `Available commands:
  /set parameter NAME VALUE   set a model parameter (${parameterNames.join(", ")})
  /clear                      forget the conversation so far
  /bye                        exit
  /?, /help                   this help

Use """ to begin and end a message of several lines.
Ctrl+C stops an answer; Ctrl+D exits.`;

const quotes = '"""';

export async function interactiveChat(server: ServerClient, initial: ChatSettings, options: { verbose: boolean }): Promise<void> {
  // Loaded before the first prompt, so a model that cannot run says so at once.
  await server.post("/api/generate", { model: initial.model, stream: false, ...(initial.keepAlive === undefined ? {} : { keep_alive: initial.keepAlive }) });

  let settings = initial;
  let messages: ChatMessage[] = [];
  let multiline: string[] | undefined;
  let answering: AbortController | undefined;
  const lines = createInterface({ input: process.stdin, output: process.stdout, terminal: true, historySize: 100 });
  const say = (text: string) => process.stdout.write(`${text}\n`);
  const prompt = () => {
    lines.setPrompt(multiline ? "... " : ">>> ");
    lines.prompt();
  };
  lines.on("SIGINT", () => {
    if (answering) return answering.abort();
    multiline = undefined;
    say("\nUse Ctrl + d or /bye to exit.");
    prompt();
  });

  /** What a slash command does; false when it ends the chat. */
  const command = (input: string): boolean => {
    const [name, ...words] = input.split(/\s+/);
    switch (name) {
      case "/bye":
        return false;
      case "/clear":
        messages = [];
        say("Cleared session context");
        break;
      case "/?":
      case "/help":
        say(help);
        break;
      case "/set": {
        const [what, parameter, ...value] = words;
        if (what !== "parameter" || !parameter || value.length === 0) {
          say("Usage: /set parameter NAME VALUE");
          break;
        }
        try {
          settings = { ...settings, parameters: setParameter(settings.parameters, parameter, value.join(" ")) };
          say(`Set parameter '${parameter}' to '${value.join(" ")}'`);
        } catch (error) {
          say(`Error: ${(error as Error).message}`);
        }
        break;
      }
      default:
        say(`Unknown command '${name}'. Type /? for help`);
    }
    return true;
  };

  const answer = async (content: string) => {
    const turn = [...messages, { role: "user", content } as const];
    answering = new AbortController();
    try {
      const reply = await streamChat(server, settings, turn, (chunk) => process.stdout.write(chunk), answering.signal);
      messages = [...turn, { role: "assistant", content: reply.content }];
      say("\n");
      if (options.verbose) console.error(chatStatistics(reply));
    } catch (error) {
      say(answering.signal.aborted ? "\n" : `\nError: ${(error as Error).message}`);
    } finally {
      answering = undefined;
    }
  };

  prompt();
  for await (const line of lines) {
    let input = line;
    if (multiline) {
      if (!line.endsWith(quotes)) {
        multiline.push(line);
        prompt();
        continue;
      }
      input = [...multiline, line.slice(0, -quotes.length)].join("\n");
      multiline = undefined;
    } else if (line.startsWith(quotes)) {
      const rest = line.slice(quotes.length);
      if (rest.length < quotes.length || !rest.endsWith(quotes)) {
        multiline = rest ? [rest] : [];
        prompt();
        continue;
      }
      input = rest.slice(0, -quotes.length);
    } else if (line.trim().startsWith("/")) {
      if (!command(line.trim())) break;
      prompt();
      continue;
    }
    if (input.trim()) await answer(input);
    prompt();
  }
  lines.close();
}
