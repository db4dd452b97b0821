/**
 * The life of one `/api/chat` or `/api/generate` request: read and translate
 * it, have the engines run it, and answer with NDJSON as the engine streams
 * (or, for `stream: false`, with the stream folded into one object; a load or
 * unload, with one object whatever `stream` says). Errors
 * before the engine answers are HTTP errors; after, the stream's error line.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { Logger } from "pino";
import type * as v from "valibot";
import { checkCapabilities } from "./capability-check.ts";
import type { CompletionCall } from "./completion-call.ts";
import { collectPieces, encodedTranslation, pieceTranslation } from "../engines/event-translation.ts";
import { EngineRefusal, type EngineReply } from "../engines/engines.ts";
import { streamReply } from "../http/stream-reply.ts";
import { createGenerateContext } from "./generate-context.ts";
import { ndjsonLine } from "./ndjson-response.ts";
import type { OllamaEngines } from "./ollama-engines.ts";
import { aggregateReplies, nanoseconds, replyFormatter, replyJson, zeroMetrics, type OllamaReply, type OllamaStreamLine } from "./ollama-replies.ts";
import { readRequestBody } from "./request-body.ts";
import { runnerOptionsField } from "./request-options.ts";
import { createStreamTranslator } from "./stream-translator.ts";
import { asksToUnload } from "./unload-request.ts";
import { wholeReplyBody, wholeReplyEvents } from "./whole-reply.ts";

export interface CompletionHandlerOptions {
  readonly engines: OllamaEngines;
  readonly logger: Logger;
  /** The model's Modelfile layers, applied to the translated request. */
  readonly applyModelfile: (call: CompletionCall) => Promise<CompletionCall>;
}

export function createCompletionHandler({ engines, logger, applyModelfile }: CompletionHandlerOptions) {
  const conversations = createGenerateContext(engines);
  return <const Schema extends v.GenericSchema>(schema: Schema, translate: (request: v.InferOutput<Schema>) => CompletionCall) =>
    async (c: Context): Promise<Response> => {
      const startedAt = performance.now();
      const signal = c.req.raw.signal;
      const call = await applyModelfile(translate(await readRequestBody(c.req, schema)));
      if (call.ignoredOptions.length) logger.debug({ model: call.model, options: call.ignoredOptions }, "options ignored");
      // As Ollama: an unload asks nothing of the model; everything else is refused before it loads, a render too.
      if (call.engine || !asksToUnload(call.keepAlive)) await checkCapabilities(engines, call);
      if (call.renderOnly) return c.json(await renderedOnly(conversations, call, signal));
      const keepAlive = call.keepAlive === undefined ? {} : { keep_alive: call.keepAlive };
      const formatter = replyFormatter(call.shape, call.model);

      if (!call.engine) {
        const { reason, loadMs } = await loadOrUnload(engines, call, signal);
        const reply = formatter.done(reason, {
          ...zeroMetrics,
          total_duration: nanoseconds(performance.now() - startedAt),
          load_duration: nanoseconds(loadMs),
        });
        // Ollama answers both with one application/json object whatever `stream` says
        // (routes.go, c.JSON): Open WebUI's unload reads it with aiohttp's strict `.json()`.
        return c.json(reply);
      }

      const previous = call.conversation?.previous ?? [];
      let continued = previous.length ? await conversations.continuing(call.engine, previous, signal) : undefined;
      const engine = continued?.engine ?? call.engine;
      // Folded anyway: the engine's whole reply keeps a tool call's text that its streaming parser would hold back.
      const unstreamed = !call.stream && Boolean((engine.body.tools as unknown[] | undefined)?.length);
      let reply: EngineReply;
      try {
        reply = await engines.send(engine.path, { ...(unstreamed ? wholeReplyBody(engine.body) : engine.body), ...keepAlive }, signal);
      } catch (error) {
        if (!call.conversation || continued || engine.body.truncate === false || !isPromptTooLong(error)) throw error;
        // Ollama cuts a templated generate prompt too long for the context as it cuts a raw one
        // (llm/llama_server.go); the engines cut only a plain prompt, so it goes again as one, rendered.
        continued = await conversations.rendered(engine, signal);
        reply = await engines.send(continued.engine.path, { ...continued.engine.body, ...keepAlive }, signal);
      }
      const translator = createStreamTranslator({
        formatter,
        startedAt,
        loadDurationMs: reply.loadDurationMs,
        ...(call.logprobs ? { topLogprobs: call.logprobs.top } : {}),
      });
      const follower = call.conversation
        ? conversations.following({ engine: call.engine, previous, ...(continued ? { rendered: continued.rendered } : {}) }, signal)
        : undefined;
      const lines = pieceTranslation<OllamaStreamLine>(
        translator,
        follower && {
          holds: (line) => {
            follower.see(line);
            return "response" in line && line.done;
          },
          finish: follower.finish,
        },
      );
      if (call.stream) {
        // The counts the request log reports are those the final line states: taken as it is written, not read back from the bytes sent.
        let stated: { promptTokens: number; completionTokens: number } | undefined;
        const write = (line: OllamaStreamLine) => {
          if ("done" in line && line.done) stated = { promptTokens: line.prompt_eval_count, completionTokens: line.eval_count };
          return writeLine(line);
        };
        return streamReply(c, { ...ndjsonHead, tokens: () => stated }, reply.body, encodedTranslation(lines, write));
      }
      const whole = aggregateReplies(await collectPieces(unstreamed ? await wholeReplyEvents(reply.body) : reply.body, lines));
      if ("error" in whole) throw new HTTPException(500, { message: whole.error });
      return c.json(whole satisfies OllamaReply);
    };
}

/**
 * Nothing to generate: Ollama's way of loading a model, or with `keep_alive: 0`
 * of unloading it. Loading asks the engine for a completion of no tokens.
 */
async function loadOrUnload(
  engines: OllamaEngines,
  call: CompletionCall,
  signal: AbortSignal,
): Promise<{ reason: "load" | "unload"; loadMs: number }> {
  if (asksToUnload(call.keepAlive)) {
    await engines.unload([call.model]);
    return { reason: "unload", loadMs: 0 };
  }
  const reply = await engines.send(
    "/v1/completions",
    {
      model: call.model,
      prompt: "",
      max_tokens: 0,
      ...(call.keepAlive === undefined ? {} : { keep_alive: call.keepAlive }),
      // The runner this model would serve the same options with: `num_ctx` loads one of that size.
      ...runnerOptionsField(call.runnerOptions),
    },
    signal,
  );
  reply.body.destroy();
  return { reason: "load", loadMs: reply.loadDurationMs };
}

/** `_debug_render_only`: the prompt the gateway rendered, or the one the engine's own template makes. */
async function renderedOnly(conversations: ReturnType<typeof createGenerateContext>, call: CompletionCall, signal: AbortSignal) {
  const engine = call.engine ?? { path: "/v1/chat/completions" as const, body: { model: call.model, messages: [] } };
  const images = JSON.stringify(engine.body.messages ?? []).match(/"image_url"/g)?.length ?? 0;
  const prompt = await conversations.render(engine, signal);
  return { model: call.model, created_at: new Date().toISOString(), debug_info: { rendered_template: prompt, image_count: images } };
}

function isPromptTooLong(error: unknown): boolean {
  return error instanceof HTTPException && error.cause instanceof EngineRefusal && error.cause.code === "context_length_exceeded";
}

const ndjsonHead = { status: 200, headers: { "content-type": "application/x-ndjson" } };

const writeLine = (line: OllamaStreamLine) => ndjsonLine(line, replyJson);
