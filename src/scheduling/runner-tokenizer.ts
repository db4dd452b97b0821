/**
 * A llama-server runner's own tokenizer and chat template, asked over its
 * socket: what the engines layer counts a request's tokens with.
 */
import { request, type Dispatcher } from "undici";
import * as v from "valibot";

const TokenizeResponseSchema = v.object({ tokens: v.array(v.number()) });
const ApplyTemplateResponseSchema = v.object({ prompt: v.string() });

/**
 * `POST /tokenize`, special tokens added (BOS…) as the engine adds them to a prompt.
 *
 * @throws Error when the engine cannot
 */
export async function tokenize(dispatcher: Dispatcher, content: string, signal: AbortSignal): Promise<number[]> {
  const json = await postJson(dispatcher, "/tokenize", { content, add_special: true }, signal);
  const result = v.safeParse(TokenizeResponseSchema, json.body);
  if (json.status !== 200 || !result.success) throw new Error(`the engine could not tokenize the input (status ${json.status})`);
  return result.output.tokens;
}

/**
 * `POST /apply-template`: the prompt the model's chat template makes of a
 * chat request (messages, tools, template arguments). Null when the engine
 * has no such endpoint (not llama-server).
 *
 * @throws Error when the engine has it and fails
 */
export async function applyChatTemplate(dispatcher: Dispatcher, chat: Readonly<Record<string, unknown>>, signal: AbortSignal): Promise<string | null> {
  const json = await postJson(dispatcher, "/apply-template", chat, signal);
  if (json.status === 404) return null;
  const result = v.safeParse(ApplyTemplateResponseSchema, json.body);
  if (json.status !== 200 || !result.success) throw new Error(`the engine could not apply the chat template (status ${json.status})`);
  return result.output.prompt;
}

async function postJson(dispatcher: Dispatcher, path: string, payload: unknown, signal: AbortSignal): Promise<{ status: number; body: unknown }> {
  const { statusCode, body } = await request(`http://runner${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(payload),
    dispatcher,
    signal,
  });
  return { status: statusCode, body: await body.json().catch(() => undefined) };
}
