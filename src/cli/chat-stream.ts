/** One streamed `/api/chat` turn: content handed on as it arrives, the counts of the last line kept. */
import type * as v from "valibot";
import { ChatChunkSchema } from "./api-replies.ts";
import type { ModelParameters } from "./model-parameters.ts";
import { ndjsonLines } from "./ndjson-lines.ts";
import type { ServerClient } from "./server-client.ts";

export interface ChatMessage {
  readonly role: "system" | "user" | "assistant";
  readonly content: string;
}

export interface ChatSettings {
  readonly model: string;
  readonly parameters: ModelParameters;
  readonly format?: string;
  readonly keepAlive?: string;
}

type ChatChunk = Exclude<v.InferOutput<typeof ChatChunkSchema>, { error: string }>;

export interface ChatReply {
  readonly content: string;
  /** The last line: `done_reason` and Ollama's counts and durations (ns). */
  readonly final: ChatChunk;
}

/**
 * @throws Error with the server's message, before or during the stream, or the signal's reason
 */
export async function streamChat(
  server: ServerClient,
  settings: ChatSettings,
  messages: readonly ChatMessage[],
  onContent: (text: string) => void,
  signal?: AbortSignal,
): Promise<ChatReply> {
  const response = await server.post(
    "/api/chat",
    {
      model: settings.model,
      messages,
      options: settings.parameters,
      stream: true,
      ...(settings.format === undefined ? {} : { format: settings.format }),
      ...(settings.keepAlive === undefined ? {} : { keep_alive: settings.keepAlive }),
    },
    { signal: signal ?? null },
  );
  let content = "";
  for await (const chunk of ndjsonLines(response, ChatChunkSchema)) {
    if ("error" in chunk) throw new Error(chunk.error);
    const text = chunk.message?.content ?? "";
    if (text) {
      content += text;
      onContent(text);
    }
    if (chunk.done) return { content, final: chunk };
  }
  throw new Error("the server ended the reply before it was done");
}

/** Ollama's `--verbose` statistics. */
export function chatStatistics({ final }: ChatReply): string {
  const seconds = (ns: number | undefined) => (ns ?? 0) / 1e9;
  const rate = (count: number | undefined, ns: number | undefined) =>
    ns ? `${((count ?? 0) / seconds(ns)).toFixed(2)} tokens/s` : "n/a";
  return [
    ["total duration", `${seconds(final.total_duration).toFixed(3)}s`],
    ["load duration", `${seconds(final.load_duration).toFixed(3)}s`],
    ["prompt eval count", `${final.prompt_eval_count ?? 0} token(s)`],
    ["prompt eval duration", `${seconds(final.prompt_eval_duration).toFixed(3)}s`],
    ["prompt eval rate", rate(final.prompt_eval_count, final.prompt_eval_duration)],
    ["eval count", `${final.eval_count ?? 0} token(s)`],
    ["eval duration", `${seconds(final.eval_duration).toFixed(3)}s`],
    ["eval rate", rate(final.eval_count, final.eval_duration)],
  ]
    .map(([label, value]) => `${`${label}:`.padEnd(22)}${value}`)
    .join("\n");
}
