/**
 * Anthropic Messages requests at the trust boundary. What the engine's native
 * Messages API understands is checked closely (the content blocks it reads,
 * the numbers it samples with); a block it would silently drop is refused
 * instead, so a client never gets an answer to a question it did not ask.
 */
import * as v from "valibot";

const TextBlockSchema = v.looseObject({ type: v.literal("text"), text: v.string() });

const ImageBlockSchema = v.looseObject({
  type: v.literal("image"),
  source: v.variant("type", [
    v.looseObject({ type: v.literal("base64"), media_type: v.string(), data: v.string() }),
    v.looseObject({ type: v.literal("url"), url: v.string() }),
  ]),
});

const ToolResultBlockSchema = v.looseObject({
  type: v.literal("tool_result"),
  tool_use_id: v.string(),
  content: v.optional(v.union([v.string(), v.array(v.union([TextBlockSchema, ImageBlockSchema]))])),
  is_error: v.optional(v.boolean()),
});

const ContentBlockSchema = v.variant("type", [
  TextBlockSchema,
  ImageBlockSchema,
  v.looseObject({ type: v.literal("tool_use"), id: v.string(), name: v.string(), input: v.record(v.string(), v.unknown()) }),
  ToolResultBlockSchema,
  v.looseObject({ type: v.literal("thinking"), thinking: v.string() }),
  v.looseObject({ type: v.literal("redacted_thinking") }),
]);

const MessageSchema = v.looseObject({
  role: v.picklist(["user", "assistant"]),
  content: v.union([v.string(), v.array(ContentBlockSchema)]),
});

const ToolSchema = v.looseObject({
  name: v.pipe(v.string(), v.nonEmpty()),
  description: v.optional(v.string()),
  input_schema: v.looseObject({ type: v.literal("object") }),
});

/** What both `/v1/messages` and its `count_tokens` read. */
const PromptEntries = {
  model: v.pipe(v.string(), v.trim(), v.nonEmpty("model is required")),
  messages: v.pipe(v.array(MessageSchema), v.minLength(1, "messages: at least one message is required")),
  system: v.optional(v.union([v.string(), v.array(TextBlockSchema)])),
  tools: v.optional(v.array(ToolSchema)),
  tool_choice: v.optional(
    v.variant("type", [
      v.looseObject({ type: v.picklist(["auto", "any", "none"]), disable_parallel_tool_use: v.optional(v.boolean()) }),
      v.looseObject({ type: v.literal("tool"), name: v.string(), disable_parallel_tool_use: v.optional(v.boolean()) }),
    ]),
  ),
  thinking: v.optional(
    v.variant("type", [
      v.looseObject({ type: v.literal("enabled"), budget_tokens: v.pipe(v.number(), v.integer(), v.minValue(1)) }),
      v.looseObject({ type: v.literal("disabled") }),
    ]),
  ),
};

export const MessagesRequestSchema = v.looseObject({
  ...PromptEntries,
  max_tokens: v.pipe(v.number(), v.integer(), v.minValue(1)),
  stream: v.optional(v.boolean()),
  temperature: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1))),
  top_p: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1))),
  top_k: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
  stop_sequences: v.optional(v.array(v.string())),
  metadata: v.optional(v.looseObject({ user_id: v.nullish(v.string()) })),
});

export const CountTokensRequestSchema = v.looseObject(PromptEntries);

export type MessagesRequest = v.InferOutput<typeof MessagesRequestSchema>;
export type CountTokensRequest = v.InferOutput<typeof CountTokensRequestSchema>;
