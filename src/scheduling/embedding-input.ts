import type { Dispatcher } from "undici";
import * as v from "valibot";
import { parseJsonBody } from "./json-body.ts";
import { BadRequestError } from "./openai-error.ts";
import { tokenBound, tokenize } from "./runner-tokenizer.ts";

/** Where an embedding request's inputs are measured: the runner's context and its tokenizer. */
export interface EmbeddingRunner {
  /** Tokens the runner takes per input; null when unknown (then nothing is checked). */
  readonly contextSize: number | null;
  readonly dispatcher: Dispatcher;
}

const EmbeddingBodySchema = v.looseObject({
  input: v.union([v.string(), v.array(v.union([v.string(), v.array(v.number())]))], "input must be a string or an array"),
});

/**
 * Ollama's `truncate` for embeddings, which engines lack (llama-server refuses
 * an input longer than its batch with a 500): every input that may not fit the
 * runner's context is tokenized; one too long is cut to fit, as token ids, or
 * with `truncate: false` refused. Inputs whose UTF-8 bytes fit cannot
 * tokenize longer (every token covers a byte, bar a few specials), so short
 * inputs cost nothing. Returns the body to send, untouched when nothing was cut.
 *
 * @throws BadRequestError for an input too long with `truncate: false`
 */
export async function fitEmbeddingInput(body: Uint8Array, truncate: boolean, runner: EmbeddingRunner, signal: AbortSignal): Promise<Uint8Array> {
  const { contextSize } = runner;
  if (contextSize === null) return body;
  const parsed = parseJsonBody(EmbeddingBodySchema, body);
  const inputs = typeof parsed.input === "string" ? [parsed.input] : parsed.input;
  let cut = false;
  const fitted = await Promise.all(
    inputs.map(async (input, index) => {
      const tokens = typeof input === "string" ? (tokenBound(input) > contextSize ? await tokenize(runner.dispatcher, input, signal) : null) : input;
      if (tokens === null || tokens.length <= contextSize) return input;
      if (!truncate) {
        throw new BadRequestError(
          `input ${index} exceeds the maximum context length: ${tokens.length} tokens, the model takes ${contextSize}`,
        );
      }
      cut = true;
      return tokens.slice(0, contextSize);
    }),
  );
  return cut ? new TextEncoder().encode(JSON.stringify({ ...parsed, input: fitted })) : body;
}
