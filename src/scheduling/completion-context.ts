/**
 * Ollama's `truncate` for completions, which llama-server lacks: it refuses
 * a prompt of its context's length or more. A chat too long loses its oldest
 * messages (see `truncateHistory`); a plain prompt too long (or a generate's
 * `context` continued: ids, then text) loses its middle when the runner
 * shifts its context (the first `n_keep` tokens kept), as
 * Ollama cuts it. With `truncate: false`, or when nothing can be cut, it is
 * refused before the engine sees it. Counted with the runner's own template
 * and tokenizer; engines without them (vLLM) are left to judge for themselves.
 */
import type { Dispatcher } from "undici";
import * as v from "valibot";
import type { BackendConfiguration } from "../inference/backend-configuration.ts";
import { ContextLengthExceededError } from "./context-length-error.ts";
import { truncateHistory } from "./history-truncation.ts";
import { parseJsonBody } from "./json-body.ts";
import { applyChatTemplate, tokenBound, tokenize } from "./runner-tokenizer.ts";

/** Where a completion's prompt is measured. */
export interface CompletionRunner {
  /** Tokens of context per request; null when unknown (then nothing is checked). */
  readonly contextSize: number | null;
  readonly dispatcher: Dispatcher;
  readonly config?: BackendConfiguration;
  /** A vision model: each image counts as Ollama counts it. */
  readonly model: { readonly projectorPath?: string };
}

const ChatBodySchema = v.looseObject({
  messages: v.array(v.looseObject({ role: v.optional(v.unknown()), content: v.optional(v.unknown()) }), "messages must be an array of objects"),
});
const CompletionBodySchema = v.looseObject({ prompt: v.optional(v.unknown()), suffix: v.optional(v.unknown()), n_keep: v.optional(v.unknown()) });

type ChatBody = v.InferOutput<typeof ChatBodySchema>;
type Message = ChatBody["messages"][number];

/**
 * Returns the body to send: untouched when it fits (or cannot be measured).
 *
 * @throws ContextLengthExceededError when it does not fit and may not be cut
 */
export async function fitCompletionContext(
  path: string,
  body: Uint8Array,
  truncate: boolean,
  runner: CompletionRunner,
  signal: AbortSignal,
): Promise<Uint8Array> {
  if (runner.contextSize === null) return body;
  if (path === "/v1/chat/completions") return fitChat(body, truncate, runner, runner.contextSize, signal);
  if (path === "/v1/completions") return fitPrompt(body, truncate, runner, runner.contextSize, signal);
  return body;
}

async function fitChat(body: Uint8Array, truncate: boolean, runner: CompletionRunner, contextSize: number, signal: AbortSignal): Promise<Uint8Array> {
  const chat = parseJsonBody(ChatBodySchema, body);
  let counted = 0;
  let measurable = true;
  const fits = async (messages: readonly Message[]): Promise<boolean> => {
    const prompt = await applyChatTemplate(runner.dispatcher, { ...chat, messages }, signal);
    if (prompt === null) return (measurable = false);
    const images = runner.model.projectorPath === undefined ? 0 : imageCount(messages) * ollamaImageTokens;
    if (images === 0 && tokenBound(prompt) < contextSize) return true;
    const tokens = await tokenize(runner.dispatcher, prompt, signal);
    if (tokens === null) return (measurable = false);
    counted = tokens.length + images;
    return counted < contextSize; // llama-server refuses a prompt of `n_ctx` tokens or more
  };
  if (!truncate) {
    if ((await fits(chat.messages)) || !measurable) return body;
    throw new ContextLengthExceededError(counted, contextSize);
  }
  const history = await truncateHistory(chat.messages, fits);
  if (!measurable || (history.dropped === 0 && history.fits)) return body;
  if (!history.fits) throw new ContextLengthExceededError(counted, contextSize);
  return new TextEncoder().encode(JSON.stringify({ ...chat, messages: history.messages }));
}

async function fitPrompt(body: Uint8Array, truncate: boolean, runner: CompletionRunner, contextSize: number, signal: AbortSignal): Promise<Uint8Array> {
  const completion = parseJsonBody(CompletionBodySchema, body);
  const { prompt, suffix } = completion;
  // Several prompts and fill-in-the-middle are left to the engine.
  if (!isOnePrompt(prompt) || suffix != null) return body;
  if (typeof prompt === "string" && tokenBound(prompt) < contextSize) return body;
  const tokens = await tokenize(runner.dispatcher, prompt, signal);
  if (tokens === null || tokens.length < contextSize) return body;
  const shifts = runner.config?.llamacpp?.["context-shift"] !== false;
  if (!truncate || !shifts) throw new ContextLengthExceededError(tokens.length, contextSize);
  const numKeep = typeof completion.n_keep === "number" && completion.n_keep >= 0 ? completion.n_keep : ollamaNumKeep;
  // n_keep does not count the BOS, which the tokenizer put first when it adds one.
  const bos = (await tokenize(runner.dispatcher, "", signal))?.length ?? 0;
  return new TextEncoder().encode(JSON.stringify({ ...completion, prompt: cutMiddle(tokens, numKeep + bos, contextSize) }));
}

/**
 * One prompt, as llama-server reads `prompt`: a text, or ids with texts
 * among them (`/api/generate`'s `context` continued); an array of texts
 * alone is several prompts.
 */
function isOnePrompt(prompt: unknown): prompt is string | (string | number)[] {
  if (typeof prompt === "string") return true;
  if (!Array.isArray(prompt)) return false;
  return prompt.some((piece) => typeof piece === "number") && prompt.every((piece) => typeof piece === "number" || typeof piece === "string");
}

/**
 * Ollama's cut of a prompt too long for a shifting runner: the first `keep`
 * tokens, then as much of the end as `promptLimit` allows.
 */
export function cutMiddle(tokens: readonly number[], keep: number, contextSize: number): number[] {
  const kept = Math.max(0, Math.min(keep, contextSize - 1));
  const limit = promptLimit(contextSize, kept);
  return [...tokens.slice(0, kept), ...tokens.slice(tokens.length - (limit - kept))];
}

/**
 * How long a cut prompt may be (Ollama's `contextShiftPromptLimit`): the
 * kept tokens, and half the rest of the context left free to generate in.
 */
export function promptLimit(contextSize: number, keep: number): number {
  if (contextSize <= 1) return 0;
  const kept = Math.max(0, Math.min(keep, contextSize - 1));
  return contextSize - Math.max(Math.floor((contextSize - kept) / 2), 1);
}

/** Ollama's default `num_keep`. */
const ollamaNumKeep = 4;
/** What Ollama counts for an image of a vision model (a CLIP image's embeddings). */
const ollamaImageTokens = 768;

/** A chat with an image in it (one unreadable counts as one: fitting it refuses it in its words). */
export function hasImages(body: Uint8Array): boolean {
  try {
    return imageCount(parseJsonBody(ChatBodySchema, body).messages) > 0;
  } catch {
    return true;
  }
}

function imageCount(messages: readonly Message[]): number {
  return messages.reduce((sum, { content }) => sum + (Array.isArray(content) ? content.filter(isImagePart).length : 0), 0);
}

function isImagePart(part: unknown): boolean {
  return typeof part === "object" && part !== null && (part as { type?: unknown }).type === "image_url";
}
