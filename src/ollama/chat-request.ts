/**
 * `/api/chat` → an OpenAI chat completion: messages with their images, tool
 * calls and tool results, tools, and the fields every completion shares.
 */
import * as v from "valibot";
import { CompletionEntries, translateCompletionFields, type Capability, type CompletionCall } from "./completion-call.ts";
import { imageDataUrl } from "./image-data-url.ts";
import { newToolCallId } from "./tool-call-id.ts";

const ToolCallSchema = v.object({
  id: v.nullish(v.string()),
  function: v.object({
    index: v.nullish(v.number()),
    name: v.string(),
    // Ollama sends an object; some clients send the OpenAI string.
    arguments: v.nullish(v.union([v.record(v.string(), v.unknown()), v.string()])),
  }),
});

const MessageSchema = v.object({
  role: v.string(),
  content: v.nullish(v.string()),
  thinking: v.nullish(v.string()),
  images: v.nullish(v.array(v.string())),
  tool_calls: v.nullish(v.array(ToolCallSchema)),
  tool_name: v.nullish(v.string()),
  tool_call_id: v.nullish(v.string()),
});

// Ollama's tools are OpenAI's; only what the engine cannot do without is checked.
const ToolSchema = v.looseObject({
  type: v.string(),
  function: v.looseObject({ name: v.string() }),
});

export const ChatRequestSchema = v.object({
  ...CompletionEntries,
  messages: v.nullish(v.array(MessageSchema)),
  tools: v.nullish(v.array(ToolSchema)),
});

export type ChatRequest = v.InferOutput<typeof ChatRequestSchema>;
type Message = v.InferOutput<typeof MessageSchema>;

/**
 * @throws HTTPException 400 on a bad option, format or image
 */
export function translateChatRequest(request: ChatRequest): CompletionCall {
  const messages = request.messages ?? [];
  const capabilities: Capability[] = [
    ...(request.tools?.length ? ["tools" as const] : []),
    ...(messages.some((message) => message.images?.length) ? ["vision" as const] : []),
  ];
  const { call, openai } = translateCompletionFields(request, "chat", capabilities);
  if (messages.length === 0) return call;
  const tools = request.tools?.length ? { tools: request.tools } : {};
  return {
    ...call,
    engine: { path: "/v1/chat/completions", body: { ...openai, messages: openaiMessages(messages), ...tools } },
  };
}

function openaiMessages(messages: readonly Message[]): Record<string, unknown>[] {
  // Ollama's tool results name the tool, OpenAI's name the call: remember each tool's latest call id.
  const callIdByTool = new Map<string, string>();
  return messages.map((message) => {
    const { images, thinking, tool_calls, tool_name, tool_call_id } = message;
    // Ollama's templates compare roles as written; clients send "USER" and mean "user".
    const role = message.role.toLowerCase();
    const content = message.content ?? "";
    if (role === "tool") {
      const callId = tool_call_id ?? (tool_name ? callIdByTool.get(tool_name) : undefined);
      return { role, content, ...(callId ? { tool_call_id: callId } : {}), ...(tool_name ? { name: tool_name } : {}) };
    }
    const calls = tool_calls?.map((toolCall) => {
      const id = toolCall.id ?? newToolCallId();
      callIdByTool.set(toolCall.function.name, id);
      const args = toolCall.function.arguments ?? {};
      return {
        id,
        type: "function",
        function: { name: toolCall.function.name, arguments: typeof args === "string" ? args : JSON.stringify(args) },
      };
    });
    return {
      role,
      content: images?.length ? withImages(content, images) : content,
      ...(thinking ? { reasoning_content: thinking } : {}),
      ...(calls?.length ? { tool_calls: calls } : {}),
    };
  });
}

/** OpenAI's content parts: the text, then each image as a data URL. */
export function withImages(text: string, images: readonly string[]): Record<string, unknown>[] {
  return [
    { type: "text", text },
    ...images.map((image) => ({ type: "image_url", image_url: { url: imageDataUrl(image) } })),
  ];
}
