/**
 * `/api/generate` → an OpenAI request: a chat completion of one user turn
 * (the model's own template applies), or with `raw` (and for `suffix`, which
 * no chat template knows) a plain completion of the prompt as is.
 */
import * as v from "valibot";
import { withImages } from "./chat-request.ts";
import { CompletionEntries, translateCompletionFields, type CompletionCall } from "./completion-call.ts";
import { badRequest } from "./request-body.ts";

export const GenerateRequestSchema = v.object({
  ...CompletionEntries,
  prompt: v.nullish(v.string()),
  suffix: v.nullish(v.string()),
  system: v.nullish(v.string()),
  /** A Go template for this request's prompt, in place of the model's (rendered by the gateway). */
  template: v.nullish(v.string()),
  /** Token ids of an earlier reply (deprecated); the gateway returns none, so there is nothing to resume. */
  context: v.nullish(v.array(v.number())),
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
  const translated = translateCompletionFields(request, "generate");
  const { openai } = translated;
  const call = { ...translated.call, ...(template ? { template } : {}), ...(raw ? { raw } : {}) };
  // As Ollama: nothing to say means "load the model" (or unload it, with keep_alive 0).
  if (!prompt && !system && !template && !images?.length) return call;
  if (raw || suffix) {
    return { ...call, engine: { path: "/v1/completions", body: { ...openai, prompt, ...(suffix ? { suffix } : {}) } } };
  }
  const messages = [
    ...(system ? [{ role: "system", content: system }] : []),
    { role: "user", content: images?.length ? withImages(prompt, images) : prompt },
  ];
  return { ...call, engine: { path: "/v1/chat/completions", body: { ...openai, messages } } };
}
