/**
 * An Anthropic Messages request in chat completions terms, for runners
 * without a native `/v1/messages` (vLLM before 0.11.1). Pure.
 *
 * `system` becomes a system message; `tool_result` blocks become `tool`
 * messages (before the rest of their user turn, as Anthropic orders them);
 * `tool_use` blocks become the assistant's `tool_calls`; earlier turns'
 * `thinking` blocks are left out, as Anthropic's own API drops them from the
 * context. The engine is always asked to stream, with usage: one path for the
 * streamed and the whole answer. What has no chat completions counterpart is
 * refused (400) rather than dropped.
 */
import { HTTPException } from "hono/http-exception";
import type { CountTokensRequest, MessagesRequest } from "./messages-request.ts";
import { optionalField } from "../utilities/optional-field.ts";

/** A chat completions message, as the engine takes it. */
type ChatMessage = Readonly<Record<string, unknown>> & { readonly role: string };
type ChatPart = Readonly<Record<string, unknown>>;
type AnthropicMessage = MessagesRequest["messages"][number];
type Block = Exclude<AnthropicMessage["content"], string>[number];
type ToolResultContent = Extract<Block, { type: "tool_result" }>["content"];

/**
 * @throws HTTPException 400 for what a chat completions engine cannot be asked
 */
export function chatRequestBody(request: MessagesRequest): Record<string, unknown> {
  return {
    ...chatPrompt(request),
    max_tokens: request.max_tokens,
    stream: true,
    stream_options: { include_usage: true },
    ...optionalField("temperature", request.temperature),
    ...optionalField("top_p", request.top_p),
    ...optionalField("top_k", request.top_k),
    ...(request.stop_sequences?.length ? { stop: request.stop_sequences } : {}),
  };
}

/**
 * What the model is shown: the model, messages, tools and the thinking
 * switch (also what vLLM's `/tokenize` counts for `count_tokens`).
 *
 * @throws HTTPException 400 for what a chat completions engine cannot be asked
 */
export function chatPrompt(request: CountTokensRequest): Record<string, unknown> {
  const system = systemText(request.system);
  return {
    model: request.model,
    messages: [...(system === undefined ? [] : [{ role: "system", content: system }]), ...request.messages.flatMap(chatMessages)],
    ...tools(request),
    ...thinking(request.thinking),
  };
}

function systemText(system: CountTokensRequest["system"]): string | undefined {
  if (system === undefined) return undefined;
  return typeof system === "string" ? system : system.map((block) => block.text).join("\n");
}

function chatMessages(message: AnthropicMessage, index: number): ChatMessage[] {
  if (typeof message.content === "string") return [{ role: message.role, content: message.content }];
  return message.role === "user" ? userMessages(message.content, index) : [assistantMessage(message.content, index)];
}

function userMessages(blocks: readonly Block[], index: number): ChatMessage[] {
  const results: ChatMessage[] = [];
  const parts: ChatPart[] = [];
  for (const block of blocks) {
    if (block.type === "tool_result") {
      results.push({ role: "tool", tool_call_id: block.tool_use_id, content: toolResultText(block.content, index) });
    } else if (block.type === "text") {
      parts.push({ type: "text", text: block.text });
    } else if (block.type === "image") {
      parts.push({ type: "image_url", image_url: { url: imageUrl(block.source) } });
    } else if (block.type === "tool_use") {
      throw refusal(`messages.${index}.content: tool_use blocks belong to assistant messages`);
    }
    // Thinking blocks in a user turn say nothing to the model: Anthropic ignores them too.
  }
  if (parts.length === 0) return results;
  const only = parts.length === 1 && parts[0]?.type === "text" ? (parts[0].text as string) : undefined;
  return [...results, { role: "user", content: only ?? parts }];
}

function assistantMessage(blocks: readonly Block[], index: number): ChatMessage {
  let content = "";
  const calls: Record<string, unknown>[] = [];
  for (const block of blocks) {
    if (block.type === "text") content += block.text;
    else if (block.type === "tool_use") {
      calls.push({ id: block.id, type: "function", function: { name: block.name, arguments: JSON.stringify(block.input) } });
    } else if (block.type === "image" || block.type === "tool_result") {
      throw refusal(`messages.${index}.content: ${block.type} blocks belong to user messages`);
    }
  }
  return calls.length ? { role: "assistant", content, tool_calls: calls } : { role: "assistant", content };
}

/** A tool's output is text to the engine; images inside it have no place in a `tool` message. */
function toolResultText(content: ToolResultContent, index: number): string {
  if (content === undefined || typeof content === "string") return content ?? "";
  return content
    .map((part) => {
      if (part.type === "image") throw refusal(`messages.${index}.content: images inside a tool_result are not supported by this model's engine`);
      return part.text;
    })
    .join("\n");
}

function imageUrl(source: Extract<Block, { type: "image" }>["source"]): string {
  return source.type === "base64" ? `data:${source.media_type};base64,${source.data}` : source.url;
}

function tools(request: CountTokensRequest): Record<string, unknown> {
  const choice = request.tool_choice;
  const parallel = choice?.disable_parallel_tool_use === true ? { parallel_tool_calls: false } : {};
  if (!request.tools?.length) return choice?.type === "tool" || choice?.type === "any" ? fail("tool_choice may only be specified while providing tools") : {};
  return {
    tools: request.tools.map(({ name, description, input_schema }) => ({
      type: "function",
      function: { name, ...(description ? { description } : {}), parameters: input_schema },
    })),
    ...(choice === undefined ? {} : { tool_choice: toolChoice(choice) }),
    ...parallel,
  };
}

function toolChoice(choice: NonNullable<MessagesRequest["tool_choice"]>): unknown {
  if (choice.type === "tool") return { type: "function", function: { name: choice.name } };
  return choice.type === "any" ? "required" : choice.type;
}

/** The chat template's thinking switch; the engine has no thinking budget, so `budget_tokens` bounds nothing but `max_tokens` does. */
function thinking(setting: MessagesRequest["thinking"]): Record<string, unknown> {
  if (setting === undefined) return {};
  return { chat_template_kwargs: { enable_thinking: setting.type === "enabled" } };
}

function refusal(message: string): HTTPException {
  return new HTTPException(400, { message });
}

function fail(message: string): never {
  throw refusal(message);
}
