/**
 * Ollama's OpenAI-compatible API (`/v1/chat/completions`, `/v1/completions`)
 * with the model's Modelfile layers, as Ollama serves it: its middleware
 * (openai/openai.go `FromChatRequest`, `FromCompleteRequest`) turns the body
 * into a chat or generate request, and the handlers apply the layers. So the
 * request's sampling fields stand, `temperature` and `top_p` are 1 when absent
 * (and, on completions, both penalties 0), and the model's other parameters
 * fill in the rest: `stop`, `seed`, `num_predict` (as `max_tokens`), `top_k`…,
 * `num_ctx` and the load-time ones as the runner's. A chat gets the model's
 * system prompt unless it opens with one, after it the model's messages; a
 * completion's prompt goes through the model's Go template with both, as
 * `/api/generate` renders it, and so does a chat's conversation where the
 * engine need not parse the reply. `/engines/v1` stays the engine's raw face.
 */
import { HTTPException } from "hono/http-exception";
import type { RunnerOptions } from "../inference/runner-options.ts";
import { parseJsonObject } from "../utilities/json-object.ts";
import { chatFromCompletion } from "./completion-as-chat.ts";
import type { ModelLayers, Models } from "../models/models.ts";
import { renderPrompt, template, withModelMessages } from "./modelfile-layers.ts";
import { InvalidOptionError, readRequestOptions, runnerOptionsField } from "./request-options.ts";

type Body = Record<string, unknown>;

/** Half a UTF-16 pair, which no model's name holds (and no URL can carry). */
const loneSurrogate = /[\uD800-\uDFFF]/u;

/** The paths of Ollama's OpenAI-compatible API that read a model's layers. */
export const layeredPaths: ReadonlySet<string> = new Set(["/v1/chat/completions", "/v1/completions"]);

/** What the engines layer is asked instead of a `/v1` request, and how its reply is told back. */
export type OpenAILayered =
  | {
      readonly path: string;
      readonly body: ArrayBuffer;
      /** Present when the request went as another kind (a chat rendered into a completion). */
      readonly reply?: (response: Response) => Response;
    }
  /** The model's layers cannot serve it (a template that does not parse, a stored option of the wrong type). */
  | { readonly refused: string };

/**
 * @example
 * const layered = createOpenAILayers(createStoredModels(store));
 * const { path, body, reply } = await layered("/v1/chat/completions", bytes);
 */
export function createOpenAILayers(models: Models | undefined) {
  return async (path: string, bytes: ArrayBuffer): Promise<OpenAILayered> => {
    const body = layeredPaths.has(path) ? faithfulObject(new TextDecoder().decode(bytes)) : undefined;
    // Anything unreadable is the engines layer's to refuse, in its words.
    if (!body || typeof body.model !== "string" || loneSurrogate.test(body.model)) return { path, body: bytes };
    const layers = await models?.layers(body.model);
    try {
      const layered = withOllamaLayers(path, body, layers);
      const rendered = path === "/v1/chat/completions" ? templatedChat(layered, layers) : undefined;
      if (rendered) return { path: "/v1/completions", body: encode(rendered), reply: chatFromCompletion };
      return { path, body: encode(layered) };
    } catch (error) {
      if (error instanceof InvalidOptionError || (error instanceof HTTPException && error.status === 400)) return { refused: error.message };
      throw error;
    }
  };
}

/**
 * The body as the engine should see it: Ollama's defaults and the model's
 * layers under the request's own fields.
 *
 * @throws InvalidOptionError when a stored parameter has the wrong type; HTTPException 400 for a template that does not parse
 */
export function withOllamaLayers(path: string, body: Body, layers: ModelLayers | undefined): Body {
  const defaults = layers?.parameters ? readRequestOptions(layers.parameters) : undefined;
  const { temperature: _temperature, top_p: _topP, ...modelSampling } = defaults?.sampling ?? {};
  // OpenAI's newer name for the bound: the model's `num_predict` must not sit beside it.
  if (body.max_completion_tokens != null) delete modelSampling.max_tokens;
  const runner: RunnerOptions = { ...defaults?.runner, ...(body.runner_options as RunnerOptions | undefined) };
  const layered: Body = {
    ...modelSampling,
    ...body,
    temperature: body.temperature ?? 1,
    top_p: (path === "/v1/completions" ? body.top_p || undefined : body.top_p) ?? 1,
    ...runnerOptionsField(runner),
  };
  if (path === "/v1/completions") {
    layered.frequency_penalty = body.frequency_penalty ?? 0;
    layered.presence_penalty = body.presence_penalty ?? 0;
    return withTemplatedPrompt(layered, layers);
  }
  if (Array.isArray(body.messages) && body.messages.length) layered.messages = withModelMessages(body.messages as Body[], layers, "chat");
  return layered;
}

/**
 * `/api/generate`'s rendering of a prompt through the model's Go template
 * (system prompt, seed messages, then the prompt; or prompt and suffix).
 * A model without one keeps its prompt raw: llama-server applies no chat
 * template to a completion (see the README).
 */
function withTemplatedPrompt(body: Body, layers: ModelLayers | undefined): Body {
  const text = layers?.template_format === "go" ? layers.template : undefined;
  if (!text || typeof body.prompt !== "string") return body;
  const goTemplate = template(text);
  const { suffix, ...rest } = body;
  if (typeof suffix === "string" && suffix !== "") {
    // Without `.Suffix` the model cannot fill in: the engines layer refuses it in its words.
    if (!goTemplate.variables.has("suffix")) return body;
    return { ...rest, prompt: renderPrompt(goTemplate, { messages: [], tools: undefined, chat_template_kwargs: undefined, reasoning_effort: undefined, prompt: body.prompt, suffix }) };
  }
  const messages = withModelMessages([{ role: "user", content: body.prompt }], layers, "generate");
  return { ...rest, prompt: renderPrompt(goTemplate, { messages, tools: undefined, chat_template_kwargs: undefined, reasoning_effort: undefined, prompt: undefined, suffix: undefined }) };
}

/**
 * A chat rendered with the model's Go template, as Ollama renders every chat
 * (server/prompt.go), sent as a completion. Left to the engine's own template
 * where the reply needs more than text back (tools, a response format,
 * logprobs) or a message carries more than text (images).
 */
export function templatedChat(body: Body, layers: ModelLayers | undefined): Body | undefined {
  const text = layers?.template_format === "go" ? layers.template : undefined;
  if (!text || !Array.isArray(body.messages)) return undefined;
  const { messages, tools, tool_choice: _choice, chat_template_kwargs, reasoning_effort, max_completion_tokens, ...rest } = body;
  if ((tools as unknown[] | undefined)?.length || body.response_format != null || body.logprobs || body.top_logprobs != null) return undefined;
  if ((messages as Body[]).some((message) => Array.isArray(message.content) && (message.content as Body[]).some((part) => part.type !== "text"))) return undefined;
  const prompt = renderPrompt(template(text), { messages, tools: undefined, chat_template_kwargs, reasoning_effort, prompt: undefined, suffix: undefined });
  return { ...rest, ...(max_completion_tokens != null && rest.max_tokens == null ? { max_tokens: max_completion_tokens } : {}), prompt };
}

function encode(body: Body): ArrayBuffer {
  return new TextEncoder().encode(JSON.stringify(body)).buffer as ArrayBuffer;
}

/** The body as a JSON object, unless writing it again would change it (a number past float64, `1e400`, would become `null`). */
function faithfulObject(text: string): Body | undefined {
  let faithful = true;
  const value = parseJsonObject(text, (_key, item: unknown) => {
    if (typeof item === "number" && !Number.isFinite(item)) faithful = false;
    return item;
  });
  return faithful ? value : undefined;
}
