/**
 * A Responses request in chat completions terms: input items become chat
 * messages (function calls as assistant `tool_calls`, their outputs as `tool`
 * messages), a stored conversation is continued, and the options map onto
 * the engine's (`text.format` → `response_format`, `reasoning` → the chat
 * template's thinking switch and `reasoning_effort`).
 */
import type { OutputItem } from "./response-object.ts";
import type { ContentPart, ResponsesRequest } from "./responses-request.ts";
import { optionalField } from "../utilities/optional-field.ts";

/** A chat completions message, as the engine takes it. */
export type ChatMessage = Readonly<Record<string, unknown>> & { readonly role: string };

/** The input as chat messages; reasoning items are not shown to the engine. */
export function inputMessages(input: ResponsesRequest["input"]): ChatMessage[] {
  if (typeof input === "string") return [{ role: "user", content: input }];
  const messages: ChatMessage[] = [];
  for (const item of input) {
    if (item.type === "reasoning") continue;
    if (item.type === "function_call") {
      addToolCall(messages, { id: item.call_id, type: "function", function: { name: item.name, arguments: item.arguments } });
    } else if (item.type === "function_call_output") {
      messages.push({ role: "tool", tool_call_id: item.call_id, content: typeof item.output === "string" ? item.output : chatContent(item.output) });
    } else {
      const role = item.role === "developer" ? "system" : item.role;
      messages.push({ role, content: typeof item.content === "string" ? item.content : chatContent(item.content) });
    }
  }
  return messages;
}

/** What the model said, as chat messages to continue the conversation with. */
export function outputMessages(output: readonly OutputItem[]): ChatMessage[] {
  const messages: ChatMessage[] = [];
  for (const item of output) {
    if (item.type === "message") messages.push({ role: "assistant", content: item.content.map((part) => part.text).join("") });
    else if (item.type === "function_call") {
      addToolCall(messages, { id: item.call_id, type: "function", function: { name: item.name, arguments: item.arguments } });
    }
  }
  return messages;
}

/**
 * The chat completions body for `request`, after the `history` of the
 * response it continues. Always streamed from the engine, with usage: one
 * path for both the streamed and the whole answer.
 */
export function chatRequestBody(request: ResponsesRequest, history: readonly ChatMessage[], input: readonly ChatMessage[]): Record<string, unknown> {
  const instructions: ChatMessage[] = request.instructions ? [{ role: "system", content: request.instructions }] : [];
  return {
    model: request.model,
    messages: [...instructions, ...history, ...input],
    stream: true,
    stream_options: { include_usage: true },
    ...optionalField("max_tokens", request.max_output_tokens),
    ...optionalField("temperature", request.temperature),
    ...optionalField("top_p", request.top_p),
    ...optionalField("parallel_tool_calls", request.parallel_tool_calls),
    ...tools(request),
    ...responseFormat(request.text?.format),
    ...reasoning(request.reasoning?.effort),
  };
}

function addToolCall(messages: ChatMessage[], call: Record<string, unknown>): void {
  const last = messages.at(-1);
  // Consecutive calls belong to one assistant turn.
  if (last?.role === "assistant" && last.tool_calls !== undefined) {
    messages[messages.length - 1] = { ...last, tool_calls: [...(last.tool_calls as unknown[]), call] };
  } else {
    messages.push({ role: "assistant", content: "", tool_calls: [call] });
  }
}

function chatContent(parts: readonly ContentPart[]): Record<string, unknown>[] {
  return parts.map((part) => {
    if (part.type === "input_image") return { type: "image_url", image_url: { url: part.image_url } };
    return { type: "text", text: part.type === "refusal" ? part.refusal : part.text };
  });
}

function tools(request: ResponsesRequest): Record<string, unknown> {
  if (!request.tools?.length) return {};
  const choice = request.tool_choice;
  return {
    tools: request.tools.map(({ name, description, parameters }) => ({
      type: "function",
      function: { name, ...(description ? { description } : {}), parameters: parameters ?? { type: "object", properties: {} } },
    })),
    ...(choice === undefined ? {} : { tool_choice: typeof choice === "string" ? choice : { type: "function", function: { name: choice.name } } }),
  };
}

function responseFormat(format: NonNullable<ResponsesRequest["text"]>["format"]): Record<string, unknown> {
  if (format === undefined || format.type === "text") return {};
  if (format.type === "json_object") return { response_format: { type: "json_object" } };
  const { name, schema, strict } = format;
  return { response_format: { type: "json_schema", json_schema: { name, schema, strict: strict ?? true } } };
}

function reasoning(effort: NonNullable<ResponsesRequest["reasoning"]>["effort"]): Record<string, unknown> {
  if (effort == null) return {};
  if (effort === "none") return { chat_template_kwargs: { enable_thinking: false } };
  return { chat_template_kwargs: { enable_thinking: true }, reasoning_effort: effort === "minimal" ? "low" : effort };
}

