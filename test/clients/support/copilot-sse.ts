/**
 * How VS Code Copilot reads a streamed chat completion: `SSEProcessor` of
 * `src/platform/networking/node/stream.ts` (microsoft/vscode-copilot-chat),
 * reproduced for one choice. What it does that a lenient SSE parser would not:
 * every non-empty line that is not a `:` comment has its first five
 * characters cut off as if they were `data:` (no field name is checked), a
 * line that then does not parse is logged and dropped (the text is lost, the
 * stream goes on), an object without `choices` is an error if it has
 * `error` and otherwise dropped, `[DONE]` ends the stream, and tool call
 * fragments are joined by id (else onto the last call).
 */

export interface CopilotToolCall {
  id: string | undefined;
  name: string | undefined;
  arguments: string;
}

export interface CopilotStreamResult {
  text: string;
  finishReason: string | undefined;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens?: number } | undefined;
  toolCalls: CopilotToolCall[];
  /** A mid-stream `{"error": …}` object, which Copilot reports as a server error. */
  error: { message?: string } | undefined;
  /** Lines Copilot would have logged as "Error parsing JSON stream data" and dropped. */
  unparsed: string[];
  sawDone: boolean;
}

interface Choice {
  index: number;
  delta?: { content?: string | null; tool_calls?: { id?: string; function?: { name?: string; arguments?: string } }[] };
  finish_reason?: string | null;
}

/** `processSSE` over a fetch body; `onText` may return true to cancel, as the CancellationToken does. */
export async function readCopilotStream(body: ReadableStream<Uint8Array>, onText: (text: string) => boolean | void = () => undefined): Promise<CopilotStreamResult> {
  const result: CopilotStreamResult = { text: "", finishReason: undefined, usage: undefined, toolCalls: [], error: undefined, unparsed: [], sawDone: false };
  let extra = "";
  const decoder = new TextDecoder();
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      // `splitChunk`: complete lines, empty ones dropped; the rest waits for the next chunk.
      const lines = (extra + decoder.decode(value, { stream: true })).split("\n");
      extra = lines.pop()!;
      for (const line of lines.filter((line) => line !== "")) {
        if (line.startsWith(":")) continue;
        const data = line.slice("data:".length).trim();
        if (data === "[DONE]") {
          result.sawDone = true;
          return result;
        }
        let json: { choices?: Choice[] | null; error?: { message?: string }; usage?: CopilotStreamResult["usage"] };
        try {
          json = JSON.parse(data) as typeof json;
        } catch {
          result.unparsed.push(line);
          continue;
        }
        if (json.usage) result.usage = json.usage;
        if (!json.choices) {
          if (json.error !== undefined) {
            result.error = json.error;
            return result;
          }
          continue;
        }
        for (const choice of json.choices) {
          for (const fragment of choice.delta?.tool_calls ?? []) joinToolCall(result.toolCalls, fragment);
          if (choice.delta?.content) {
            result.text += choice.delta.content.replace(/\r$/g, "");
            if (onText(choice.delta.content)) {
              await reader.cancel();
              return result;
            }
          }
          if (choice.finish_reason) result.finishReason = choice.finish_reason;
        }
      }
    }
  } finally {
    reader.releaseLock();
  }
  return result;
}

/** `StreamingToolCalls.update`: by id, else the last call; a new id starts a new call. */
function joinToolCall(calls: CopilotToolCall[], fragment: NonNullable<NonNullable<Choice["delta"]>["tool_calls"]>[number]): void {
  let current = fragment.id ? calls.find((call) => call.id === fragment.id) : undefined;
  current ??= calls.at(-1);
  if (!current || (fragment.id && current.id && current.id !== fragment.id)) {
    current = { id: undefined, name: undefined, arguments: "" };
    calls.push(current);
  }
  if (fragment.id) current.id = fragment.id;
  if (fragment.function?.name) current.name = fragment.function.name;
  if (fragment.function?.arguments) current.arguments += fragment.function.arguments;
}
