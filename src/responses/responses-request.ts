/**
 * OpenAI Responses requests at the trust boundary, and the input items they
 * carry. Only function tools are served (the engine has no built-in tools);
 * anything else a client could expect answered is refused, not ignored.
 */
import * as v from "valibot";

const TextPartSchema = v.object({ type: v.picklist(["input_text", "output_text"]), text: v.string() });
const ImagePartSchema = v.object({
  type: v.literal("input_image"),
  image_url: v.pipe(v.string(), v.nonEmpty("input_image needs an image_url (file ids are not supported)")),
  detail: v.optional(v.string()),
});
const RefusalPartSchema = v.object({ type: v.literal("refusal"), refusal: v.string() });
const ContentPartSchema = v.variant("type", [TextPartSchema, ImagePartSchema, RefusalPartSchema]);

const MessageItemSchema = v.object({
  type: v.optional(v.literal("message")),
  id: v.optional(v.string()),
  role: v.picklist(["user", "assistant", "system", "developer"]),
  content: v.union([v.string(), v.array(ContentPartSchema)]),
  status: v.optional(v.string()),
});

const FunctionCallItemSchema = v.object({
  type: v.literal("function_call"),
  id: v.optional(v.string()),
  call_id: v.string(),
  name: v.string(),
  arguments: v.string(),
  status: v.optional(v.string()),
});

const FunctionCallOutputItemSchema = v.object({
  type: v.literal("function_call_output"),
  id: v.optional(v.string()),
  call_id: v.string(),
  output: v.union([v.string(), v.array(ContentPartSchema)]),
  status: v.optional(v.string()),
});

/** Reasoning the model produced earlier; accepted so whole outputs can be sent back, not shown to the engine. */
const ReasoningItemSchema = v.looseObject({ type: v.literal("reasoning"), id: v.optional(v.string()) });

export const InputItemSchema = v.union([MessageItemSchema, FunctionCallItemSchema, FunctionCallOutputItemSchema, ReasoningItemSchema]);

const FunctionToolSchema = v.object({
  type: v.literal("function", "only function tools are supported"),
  name: v.pipe(v.string(), v.nonEmpty()),
  description: v.nullish(v.string()),
  parameters: v.nullish(v.record(v.string(), v.unknown())),
  strict: v.nullish(v.boolean()),
});

const TextFormatSchema = v.variant("type", [
  v.object({ type: v.literal("text") }),
  v.object({ type: v.literal("json_object") }),
  v.object({
    type: v.literal("json_schema"),
    name: v.string(),
    schema: v.record(v.string(), v.unknown()),
    description: v.optional(v.string()),
    strict: v.nullish(v.boolean()),
  }),
]);

export const reasoningEfforts = ["none", "minimal", "low", "medium", "high"] as const;

export const ResponsesRequestSchema = v.looseObject({
  model: v.pipe(v.string("model is required"), v.trim(), v.nonEmpty("model is required")),
  input: v.union([v.string(), v.array(InputItemSchema)], "input must be a string or a list of items"),
  instructions: v.nullish(v.string()),
  previous_response_id: v.nullish(v.string()),
  tools: v.optional(v.array(FunctionToolSchema)),
  tool_choice: v.optional(v.union([v.picklist(["auto", "none", "required"]), v.object({ type: v.literal("function"), name: v.string() })])),
  parallel_tool_calls: v.nullish(v.boolean()),
  text: v.nullish(v.object({ format: v.optional(TextFormatSchema) })),
  reasoning: v.nullish(v.object({ effort: v.nullish(v.picklist(reasoningEfforts)), summary: v.nullish(v.string()) })),
  max_output_tokens: v.nullish(v.pipe(v.number(), v.integer(), v.minValue(1))),
  temperature: v.nullish(v.pipe(v.number(), v.minValue(0), v.maxValue(2))),
  top_p: v.nullish(v.pipe(v.number(), v.minValue(0), v.maxValue(1))),
  store: v.nullish(v.boolean()),
  stream: v.nullish(v.boolean()),
  metadata: v.nullish(v.record(v.string(), v.string())),
});

export type ResponsesRequest = v.InferOutput<typeof ResponsesRequestSchema>;
export type InputItem = v.InferOutput<typeof InputItemSchema>;
export type ContentPart = v.InferOutput<typeof ContentPartSchema>;
export type FunctionTool = v.InferOutput<typeof FunctionToolSchema>;
