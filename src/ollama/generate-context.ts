/**
 * `/api/generate`'s `context`, as Ollama keeps it: the token ids of the
 * prompt the model saw and of its reply, in the final object; given back, the
 * conversation continues after them. The model's own template renders the
 * prompt and its own tokenizer counts it (the engine's `/apply-template` and
 * `/tokenize`), so the ids are the ones the engine runs on.
 */
import { HTTPException } from "hono/http-exception";
import * as v from "valibot";
import type { EngineRequest } from "./completion-call.ts";
import type { EnginePath } from "../engines/engines.ts";
import type { OllamaEngines } from "./ollama-engines.ts";
import type { OllamaStreamLine } from "./ollama-replies.ts";

const RenderedSchema = v.object({ prompt: v.string() });
const TokensSchema = v.object({ tokens: v.array(v.number()) });

/** A generate reply's lines as they pass, and its final object with the conversation's ids. */
export interface ConversationFollower {
  see(line: OllamaStreamLine): void;
  finish(line: OllamaStreamLine): Promise<OllamaStreamLine>;
}

export function createGenerateContext(engines: OllamaEngines) {
  const post = async <const Schema extends v.GenericSchema>(path: EnginePath, body: Record<string, unknown>, schema: Schema, signal: AbortSignal) =>
    (await engines.json(path, body, schema, signal)).value;
  /** The templated prompt of a chat request, as the engine would build it. */
  const render = async (engine: EngineRequest, signal: AbortSignal): Promise<string> => {
    // A Go template (a Modelfile's, or the request's) was rendered by the gateway already.
    if (typeof engine.body.prompt === "string") return engine.body.prompt;
    const { stream: _stream, stream_options: _options, ...body } = engine.body;
    return (await post("/apply-template", body, RenderedSchema, signal)).prompt;
  };

  const asCompletion = async (engine: EngineRequest, previous: readonly number[], signal: AbortSignal): Promise<{ engine: EngineRequest; rendered: string }> => {
    const rendered = await render(engine, signal);
    const { messages: _messages, ...body } = engine.body;
    return { engine: { path: "/v1/completions", body: { ...body, prompt: previous.length ? [...previous, rendered] : rendered } }, rendered };
  };

  return {
    render,

    /**
     * The request that continues `previous`: its turn rendered by the template,
     * after those ids, as a plain completion (an engine takes a prompt of ids and text).
     */
    continuing: (engine: EngineRequest, previous: readonly number[], signal: AbortSignal) => asCompletion(engine, previous, signal),

    /** The same request as a plain completion of its rendered prompt (a string, which the engines may cut to fit). */
    rendered: (engine: EngineRequest, signal: AbortSignal) => asCompletion(engine, [], signal),

    /**
     * Follows a reply's lines (`see`), and gives its final object the
     * conversation's ids (`finish`), counted by the engine's tokenizer.
     */
    following(
      conversation: { readonly engine: EngineRequest; readonly previous: readonly number[]; readonly rendered?: string },
      signal: AbortSignal,
    ): ConversationFollower {
      // The prompt does not depend on the reply: rendered while the engine generates, so only the count waits for the end.
      const rendering = conversation.rendered === undefined ? render(conversation.engine, signal) : Promise.resolve(conversation.rendered);
      rendering.catch(() => {}); // heard when awaited; a reply that fails first must not leave it unhandled
      let reply = "";
      return {
        see(line) {
          if ("response" in line) reply += line.response;
        },
        async finish(line) {
          try {
            const rendered = await rendering;
            const { model } = conversation.engine.body;
            // The first turn's ids start as the engine's would (a BOS where the model has one); a continuation's follow on.
            const { tokens } = await post(
              "/tokenize",
              { model, content: rendered + reply, add_special: conversation.previous.length === 0, parse_special: true },
              TokensSchema,
              signal,
            );
            return { ...line, context: [...conversation.previous, ...tokens] };
          } catch (error) {
            // vLLM has no /apply-template (a 404): its replies come without `context` (see the README).
            if (error instanceof HTTPException && error.status === 404) return line;
            return { error: `the reply's context could not be counted: ${(error as Error).message}` };
          }
        },
      };
    },
  };
}
