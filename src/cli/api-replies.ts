/** The Ollama API replies the CLI reads, checked at the boundary (only the fields it uses). */
import * as v from "valibot";

export const TagsReplySchema = v.object({
  models: v.array(v.object({ name: v.string(), digest: v.string(), size: v.number(), modified_at: v.string() })),
});

export const PsReplySchema = v.object({
  models: v.array(
    v.object({
      name: v.string(),
      digest: v.string(),
      size: v.number(),
      size_vram: v.number(),
      expires_at: v.string(),
      context_length: v.optional(v.number()),
    }),
  ),
});

export const ShowReplySchema = v.object({
  details: v.object({ parameter_size: v.string(), quantization_level: v.string(), family: v.string() }),
  model_info: v.record(v.string(), v.unknown()),
  capabilities: v.optional(v.array(v.string())),
  modelfile: v.string(),
  template: v.string(),
  parameters: v.string(),
  license: v.string(),
});

/** One line of a streamed `/api/chat`: content as it comes, counts on the last. */
export const ChatChunkSchema = v.union([
  v.object({ error: v.string() }),
  v.object({
    message: v.optional(v.object({ role: v.string(), content: v.string(), thinking: v.optional(v.string()) })),
    done: v.boolean(),
    done_reason: v.optional(v.string()),
    total_duration: v.optional(v.number()),
    load_duration: v.optional(v.number()),
    prompt_eval_count: v.optional(v.number()),
    prompt_eval_duration: v.optional(v.number()),
    eval_count: v.optional(v.number()),
    eval_duration: v.optional(v.number()),
  }),
]);

export const VersionReplySchema = v.object({ version: v.string() });

/** Ollama's digests are bare hex; its tables show the first twelve. */
export function shortId(digest: string): string {
  return digest.replace(/^sha256:/, "").slice(0, 12);
}
