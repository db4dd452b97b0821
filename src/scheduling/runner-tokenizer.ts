/**
 * A llama-server runner's own tokenizer and chat template, asked over its
 * socket: what the engines layer counts a request's tokens with.
 */
import { request, type Dispatcher } from "undici";
import * as v from "valibot";
import { sendResending } from "./closed-connection.ts";

/**
 * The most tokens a text can take: every token covers at least a byte, bar
 * the few specials a tokenizer adds (BOS/EOS, CLS/SEP, SentencePiece's
 * leading space). A text whose bound fits need not be tokenized.
 */
export function tokenBound(text: string): number {
  return Buffer.byteLength(text) + specialTokensAllowance;
}

const specialTokensAllowance = 4;

const TokenizeResponseSchema = v.object({ tokens: v.array(v.number()) });
const ApplyTemplateResponseSchema = v.object({ prompt: v.string() });

/**
 * `POST /tokenize`, special tokens added (BOS…) as the engine adds them to a
 * prompt: a text, or one prompt of ids and texts (llama-server's mixed prompt). Null when the engine speaks no such endpoint (vLLM's takes other
 * fields and refuses these with a 4xx).
 *
 * @throws Error when the engine fails
 */
export async function tokenize(dispatcher: Dispatcher, content: string | readonly (string | number)[], signal: AbortSignal): Promise<number[] | null> {
  const json = await postJson(dispatcher, "/tokenize", { content, add_special: true }, signal);
  if (json.status >= 400 && json.status < 500) return null;
  const result = v.safeParse(TokenizeResponseSchema, json.body);
  if (json.status !== 200 || !result.success) throw new Error(`the engine could not tokenize the input (status ${json.status})`);
  return result.output.tokens;
}

/**
 * `POST /apply-template`: the prompt the model's chat template makes of a
 * chat request (messages, tools, template arguments). Null when the engine
 * has no such endpoint (not llama-server), or refuses the request: then the
 * engine answers the request itself, in its own words.
 *
 * @throws Error when the engine has it and fails
 */
export async function applyChatTemplate(dispatcher: Dispatcher, chat: Readonly<Record<string, unknown>>, signal: AbortSignal): Promise<string | null> {
  const json = await postJson(dispatcher, "/apply-template", chat, signal);
  if (json.status >= 400 && json.status < 500) return null;
  const result = v.safeParse(ApplyTemplateResponseSchema, json.body);
  if (json.status !== 200 || !result.success) throw new Error(`the engine could not apply the chat template (status ${json.status})`);
  return result.output.prompt;
}

/** Sent again on a fresh connection when the engine closed the kept-alive one under it (the request changes nothing). */
async function postJson(dispatcher: Dispatcher, path: string, payload: unknown, signal: AbortSignal): Promise<{ status: number; body: unknown }> {
  const { statusCode, body } = await sendResending(
    () =>
      request(`http://runner${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(payload),
        dispatcher,
        signal,
      }),
    () => !signal.aborted,
  );
  return { status: statusCode, body: await body.json().catch(() => undefined) };
}
