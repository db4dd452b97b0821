/**
 * A model's Modelfile layers applied to a translated request, as Ollama's
 * chat and generate handlers apply them (server/routes.go): the model's
 * parameters are default options under the request's own, its system prompt
 * stands when the request brings none, its seed messages go before the
 * conversation, and its `num_ctx` is the context size unless the request
 * sets one. A Go template (the model's, or generate's `template`) is
 * rendered here into a raw completion, as Ollama renders it; the engine's
 * own Jinja template is kept where the model has one and the request needs
 * the engine to parse the reply (tools, thinking). The layers come from the
 * models contract.
 */
import type { ModelLayers, Models } from "../models/models.ts";
import { parseGoTemplate, TemplateError, type GoTemplate } from "../templates/go-template.ts";
import type { CompletionCall } from "./completion-call.ts";
import { badRequest } from "./request-body.ts";
import { readRequestOptions, runnerOptionsField } from "./request-options.ts";

/** Parsed templates, by their text: a model's is parsed once. */
const parsedTemplates = new Map<string, GoTemplate>();
const maxParsedTemplates = 64;

/**
 * @example
 * const applyModelfile = createModelfileLayers(createStoredModels(store));
 * const call = await applyModelfile(translateChatRequest(body));
 */
export function createModelfileLayers(models: Models | undefined) {
  return async (call: CompletionCall): Promise<CompletionCall> => applyModelLayers(call, await models?.layers(call.model));
}

/**
 * @throws InvalidOptionError when a stored parameter has the wrong type; HTTPException 400 for a template that does not parse
 */
export function applyModelLayers(call: CompletionCall, layers: ModelLayers | undefined): CompletionCall {
  const defaults = layers?.parameters ? readRequestOptions(layers.parameters) : undefined;
  // Load-time parameters (`num_ctx`, `num_gpu`…) are the model's standing runner settings, under the request's.
  const runnerOptions = { ...defaults?.runner, ...call.runnerOptions };
  const withRunner = { ...call, runnerOptions };
  if (!call.engine) return withRunner;
  const body: Record<string, unknown> = {
    ...defaults?.sampling,
    ...call.engine.body,
    ...runnerOptionsField(runnerOptions),
  };
  if (call.raw) return { ...withRunner, engine: { ...call.engine, body } };
  if (call.engine.path === "/v1/chat/completions") body.messages = withModelMessages(body.messages as Record<string, unknown>[], layers, call.shape);

  const goTemplate = call.template ?? (layers?.template_format === "go" ? (layers.template ?? undefined) : undefined);
  const engineParses = Boolean((body.tools as unknown[] | undefined)?.length || body.chat_template_kwargs);
  const render = goTemplate !== undefined && (call.template !== undefined || !layers?.chat_template || !engineParses);
  if (!render) return { ...withRunner, engine: { ...call.engine, body } };
  const infill = call.engine.path === "/infill";
  const { messages, tools, chat_template_kwargs, reasoning_effort, input_prefix, input_suffix, ...rest } = body;
  const prompt = renderPrompt(template(goTemplate), {
    messages,
    tools,
    chat_template_kwargs,
    reasoning_effort,
    ...(infill ? { prompt: input_prefix, suffix: input_suffix } : { prompt: undefined, suffix: undefined }),
  });
  // The template lays out the fill-in-the-middle itself: the model needs no infill tokens of its own.
  const capabilities = infill ? call.capabilities.filter((capability) => capability !== "insert") : call.capabilities;
  return { ...withRunner, capabilities, engine: { path: "/v1/completions", body: { ...rest, prompt } } };
}

/**
 * Chat: the model's messages, then the conversation, the model's system
 * prompt first unless the conversation opens with one. Generate: the
 * system prompt (the request's, else the model's), the model's messages,
 * then the prompt.
 */
export function withModelMessages(messages: Record<string, unknown>[], layers: ModelLayers | undefined, shape: CompletionCall["shape"]): Record<string, unknown>[] {
  const seeded = layers?.messages ?? [];
  const system = layers?.system ? [{ role: "system", content: layers.system }] : [];
  const [first, ...rest] = messages;
  const opensWithSystem = first?.role === "system";
  if (shape === "generate") return opensWithSystem ? [first, ...seeded, ...rest] : [...system, ...seeded, ...messages];
  return [...(opensWithSystem ? [] : system), ...seeded, ...messages];
}

export function template(text: string): GoTemplate {
  let parsed = parsedTemplates.get(text);
  if (!parsed) {
    try {
      parsed = parseGoTemplate(text);
      // Ollama's Parse: a template that reads neither `.Messages` nor `.Response` gets `{{ .Response }}` appended.
      if (!parsed.variables.has("messages") && !parsed.variables.has("response")) parsed = parseGoTemplate(`${text}{{ .Response }}`);
    } catch (error) {
      if (error instanceof TemplateError) throw badRequest(error.message);
      throw error;
    }
    if (parsedTemplates.size >= maxParsedTemplates) parsedTemplates.clear();
    parsedTemplates.set(text, parsed);
  }
  return parsed;
}

interface PromptParts {
  readonly messages: unknown;
  readonly tools: unknown;
  readonly chat_template_kwargs: unknown;
  readonly reasoning_effort: unknown;
  readonly suffix: unknown;
  readonly prompt: unknown;
}

/** Ollama's `Template.Execute` (template/template.go) on the request's parts. */
export function renderPrompt(goTemplate: GoTemplate, parts: PromptParts): string {
  const think = (parts.chat_template_kwargs as { enable_thinking?: boolean } | undefined)?.enable_thinking;
  const thinking = { Think: think === true, ThinkLevel: typeof parts.reasoning_effort === "string" ? parts.reasoning_effort : "", IsThinkSet: think !== undefined };
  try {
    if (typeof parts.suffix === "string" && parts.suffix !== "") {
      return goTemplate.render({ Prompt: parts.prompt ?? "", Suffix: parts.suffix, Response: "", ...thinking });
    }
    const messages = ollamaMessages(parts.messages as Record<string, unknown>[] | undefined);
    const system = messages.filter((message) => message.role === "system").map((message) => message.content).join("\n\n");
    const collated = collate(messages);
    if (goTemplate.variables.has("messages")) {
      return goTemplate.render({ System: system, Messages: collated, Tools: parts.tools ?? [], Response: "", ...thinking });
    }
    return legacyPrompt(goTemplate, collated, thinking);
  } catch (error) {
    if (error instanceof TemplateError) throw badRequest(error.message);
    throw error;
  }
}

interface TemplateMessage {
  role: string;
  content: string;
  [field: string]: unknown;
}

/** Templates read Ollama's messages: OpenAI's parts back into content and tool calls with object arguments. */
function ollamaMessages(messages: Record<string, unknown>[] = []): TemplateMessage[] {
  return messages.map((message) => {
    const content = Array.isArray(message.content)
      ? (message.content as { type: string; text?: string }[]).filter((part) => part.type === "text").map((part) => part.text ?? "").join("")
      : String(message.content ?? "");
    const calls = (message.tool_calls as { function: { name: string; arguments: string } }[] | undefined)?.map((call) => ({
      function: { name: call.function.name, arguments: parseArguments(call.function.arguments) },
    }));
    return {
      role: String(message.role),
      content,
      ...(message.reasoning_content ? { thinking: message.reasoning_content } : {}),
      ...(calls?.length ? { tool_calls: calls } : {}),
      ...(message.name ? { tool_name: message.name } : {}),
      ...(message.tool_call_id ? { tool_call_id: message.tool_call_id } : {}),
    };
  });
}

function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return {};
  }
}

/** Consecutive messages of one role (tool results aside) become one, as Ollama's `collate` does. */
function collate(messages: readonly TemplateMessage[]): TemplateMessage[] {
  const collated: TemplateMessage[] = [];
  for (const message of messages) {
    const last = collated.at(-1);
    if (last && last.role === message.role && message.role !== "tool") last.content += `\n\n${message.content}`;
    else collated.push({ ...message });
  }
  return collated;
}

/** Templates without `.Messages`: one render per turn, the last one cut after `.Response`. */
function legacyPrompt(goTemplate: GoTemplate, messages: readonly TemplateMessage[], thinking: Record<string, unknown>): string {
  let output = "";
  let turn = { System: "", Prompt: "", Response: "" };
  const flush = () => {
    output += goTemplate.render({ ...turn, ...thinking });
    turn = { System: "", Prompt: "", Response: "" };
  };
  for (const message of messages) {
    if (message.role === "system") {
      if (turn.Prompt || turn.Response) flush();
      turn.System = message.content;
    } else if (message.role === "user") {
      if (turn.Response) flush();
      turn.Prompt = message.content;
    } else if (message.role === "assistant") {
      turn.Response = message.content;
    }
  }
  return output + goTemplate.render({ ...turn, ...thinking }, { upToResponse: true });
}
