import { UnsupportedRequestError, type EngineRequestContext } from "../../inference/index.ts";

/** What the adapter needs of the runner a request goes to. */
export interface VllmRunnerFacts {
  /** The model's name, for refusals. */
  readonly name: string;
  /** The `--tool-call-parser` it was started with; absent: vLLM refuses `tools`. */
  readonly toolParser?: string;
}

/**
 * llama-server's names for sampling fields (which the Ollama layer sends)
 * that vLLM reads under its own (vllm/entrypoints/openai/protocol.py).
 */
const renamed: Readonly<Record<string, string>> = { repeat_penalty: "repetition_penalty" };

/** llama-server's fields vLLM has no counterpart for: dropped, listed in the README as ignored on vLLM. */
const unknownToVllm = ["typical_p", "repeat_last_n", "n_keep"];

/**
 * A request body as vLLM reads it, or a refusal where vLLM would answer with
 * an error the client cannot act on:
 * - `tools` without a tool-call parser: vllm/entrypoints/openai/serving_chat.py
 *   answers `"auto" tool choice requires --enable-auto-tool-choice and
 *   --tool-call-parser to be set`;
 * - `suffix` on /v1/completions: serving_completion.py answers "suffix is not
 *   currently supported";
 * - Ollama's `truncate` becomes vLLM's `truncate_prompt_tokens` (the
 *   runner's context; vLLM keeps the end of the input), never llama-server's
 *   `/tokenize` body, which vLLM refuses.
 *
 * @throws UnsupportedRequestError in the words Ollama uses for a capability a model lacks
 */
export function adaptVllmRequest(request: EngineRequestContext, body: Record<string, unknown>, runner: VllmRunnerFacts): Record<string, unknown> {
  const adapted: Record<string, unknown> = { ...body };
  if (request.path === "/v1/chat/completions" || request.path === "/v1/completions") {
    const tools = Array.isArray(body.tools) && body.tools.length > 0 && body.tool_choice !== "none";
    if (tools && !runner.toolParser) {
      throw new UnsupportedRequestError(
        `"${runner.name}" does not support tools on vLLM: no tool-call parser is known for its family (set vllm.tool-call-parser through /engines/vllm/_configure)`,
      );
    }
    if (request.path === "/v1/completions" && typeof body.suffix === "string" && body.suffix !== "") {
      throw new UnsupportedRequestError(`"${runner.name}" does not support insert on vLLM: vLLM refuses a suffix`);
    }
    for (const [from, to] of Object.entries(renamed)) {
      if (!(from in adapted)) continue;
      if (!(to in adapted)) adapted[to] = adapted[from];
      delete adapted[from];
    }
    for (const name of unknownToVllm) delete adapted[name];
    // vLLM refuses a prompt longer than its context itself; it cannot cut a chat's history as Ollama does.
    delete adapted.truncate;
  }
  if (request.path === "/tokenize" && typeof body.content === "string") {
    // llama-server's body, as the gateway's own callers write it; vLLM's names (vllm/entrypoints/openai/protocol.py TokenizeCompletionRequest).
    const { content, add_special, parse_special: _, ...rest } = adapted;
    return { ...rest, prompt: content, ...(typeof add_special === "boolean" ? { add_special_tokens: add_special } : {}) };
  }
  if (request.path === "/v1/embeddings" && "truncate" in adapted) {
    if (adapted.truncate === true) adapted.truncate_prompt_tokens = request.contextSize ?? -1;
    delete adapted.truncate; // false: vLLM refuses an input longer than the context itself
  }
  return adapted;
}
