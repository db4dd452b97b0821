/**
 * `/api/generate` → an OpenAI request: a chat completion of one user turn
 * (the model's own template applies), a plain completion of the prompt as is
 * with `raw`, or with `suffix` the engine's fill-in-the-middle (`/infill`).
 * A `context` from an earlier reply is continued: see generate-context.ts.
 */
import * as v from "valibot";
import { withImages } from "./chat-request.ts";
import { CompletionEntries, translateCompletionFields, type Capability, type CompletionCall } from "./completion-call.ts";
import { badRequest } from "./request-body.ts";

export const GenerateRequestSchema = v.object({
  ...CompletionEntries,
  prompt: v.nullish(v.string()),
  suffix: v.nullish(v.string()),
  system: v.nullish(v.string()),
  /** A Go template for this request's prompt, in place of the model's (rendered by the gateway). */
  template: v.nullish(v.string()),
  /** Token ids of an earlier reply's conversation (deprecated in Ollama, still sent by older clients). */
  context: v.nullish(v.array(v.pipe(v.number(), v.integer(), v.minValue(0)))),
  raw: v.nullish(v.boolean()),
  images: v.nullish(v.array(v.string())),
});

export type GenerateRequest = v.InferOutput<typeof GenerateRequestSchema>;

/**
 * @throws HTTPException 400 on `raw` with a template, system prompt or context, and on a bad option or format
 */
export function translateGenerateRequest(request: GenerateRequest): CompletionCall {
  const { suffix, system, template, context, raw, images } = request;
  const prompt = request.prompt ?? "";
  if (raw && (template || system || context?.length)) {
    throw badRequest("raw mode does not support template, system, or context");
  }
  const capabilities: Capability[] = [...(suffix ? ["insert" as const] : []), ...(images?.length ? ["vision" as const] : [])];
  const translated = translateCompletionFields(request, "generate", capabilities);
  const { openai } = translated;
  const call = { ...translated.call, ...(template ? { template } : {}), ...(raw ? { raw } : {}) };
  // As Ollama: nothing to say means "load the model" (or unload it, with keep_alive 0).
  if (!prompt && !system && !template && !images?.length) return call;
  if (suffix) {
    // llama-server lays out the model's own FIM tokens around the two halves.
    return { ...call, engine: { path: "/infill", body: { ...openai, input_prefix: prompt, input_suffix: suffix, prompt: "" } } };
  }
  if (raw) return { ...call, engine: { path: "/v1/completions", body: { ...openai, prompt } } };
  if (context?.length && images?.length) throw badRequest("context with images is not supported: send the conversation to /api/chat");
  const messages = [
    ...(system ? [{ role: "system", content: system }] : []),
    { role: "user", content: images?.length ? withImages(prompt, images) : prompt },
  ];
  return {
    ...call,
    engine: { path: "/v1/chat/completions", body: { ...openai, messages } },
    // Ollama answers every templated reply with its conversation's token ids, and continues one it is given.
    conversation: { previous: context ?? [] },
  };
}
