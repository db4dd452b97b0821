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
import { translateEngineStream } from "./engine-stream.ts";
import { loadDurationMs, promptTooLong, type EnginesClient } from "./engines-client.ts";
import { createGenerateContext } from "./generate-context.ts";
import { ndjsonResponse } from "./ndjson-response.ts";
import { aggregateReplies, nanoseconds, replyFormatter, replyJson, zeroMetrics, type OllamaReply } from "./ollama-replies.ts";
import { readRequestBody } from "./request-body.ts";
import { runnerOptionsField } from "./request-options.ts";
import { createStreamTranslator } from "./stream-translator.ts";
import { asksToUnload } from "./unload-request.ts";
import { wholeReplyEvents } from "./whole-reply.ts";

export interface CompletionHandlerOptions {
  readonly engines: EnginesClient;
  readonly logger: Logger;
  /** The model's Modelfile layers, applied to the translated request. */
  readonly applyModelfile: (call: CompletionCall, signal: AbortSignal) => Promise<CompletionCall>;
}

export function createCompletionHandler({ engines, logger, applyModelfile }: CompletionHandlerOptions) {
  const conversations = createGenerateContext(engines);
  return <const Schema extends v.GenericSchema>(schema: Schema, translate: (request: v.InferOutput<Schema>) => CompletionCall) =>
    async (c: Context): Promise<Response> => {
      const startedAt = performance.now();
      const signal = c.req.raw.signal;
      const call = await applyModelfile(translate(await readRequestBody(c.req, schema)), signal);
      if (call.renderOnly) return c.json(await renderedOnly(conversations, call, signal));
      if (call.ignoredOptions.length) logger.debug({ model: call.model, options: call.ignoredOptions }, "options ignored");
      // As Ollama: an unload asks nothing of the model; everything else is refused before it loads.
      if (call.engine || !asksToUnload(call.keepAlive)) await checkCapabilities(engines, call, signal);
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
      const whole = !call.stream && Boolean((engine.body.tools as unknown[] | undefined)?.length);
      let response: Response;
      try {
        response = await engines.post(engine.path, { ...(whole ? unstreamed(engine.body) : engine.body), ...keepAlive }, signal);
      } catch (error) {
        if (!call.conversation || continued || engine.body.truncate === false || !isPromptTooLong(error)) throw error;
        // Ollama cuts a templated generate prompt too long for the context as it cuts a raw one
        // (llm/llama_server.go); the engines cut only a plain prompt, so it goes again as one, rendered.
        continued = await conversations.rendered(engine, signal);
        response = await engines.post(continued.engine.path, { ...continued.engine.body, ...keepAlive }, signal);
      }
      const translator = createStreamTranslator({
        formatter,
        startedAt,
        loadDurationMs: loadDurationMs(response),
        ...(call.logprobs ? { topLogprobs: call.logprobs.top } : {}),
      });
      const translated = translateEngineStream(whole ? await wholeReplyEvents(response) : response.body, translator);
      const lines = call.conversation
        ? conversations.withContext(translated, { engine: call.engine, previous, ...(continued ? { rendered: continued.rendered } : {}) }, signal)
        : translated;
      if (call.stream) return ndjsonResponse(lines, replyJson);
      const reply = aggregateReplies(await collect(lines));
      if ("error" in reply) throw new HTTPException(500, { message: reply.error });
      return c.json(reply satisfies OllamaReply);
    };
}

/**
 * Nothing to generate: Ollama's way of loading a model, or with `keep_alive: 0`
 * of unloading it. Loading asks the engine for a completion of no tokens.
 */
async function loadOrUnload(
  engines: EnginesClient,
  call: CompletionCall,
  signal: AbortSignal,
): Promise<{ reason: "load" | "unload"; loadMs: number }> {
  if (asksToUnload(call.keepAlive)) {
    await engines.post("/unload", { models: [call.model] }, signal);
    return { reason: "unload", loadMs: 0 };
  }
  const response = await engines.post(
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
  await response.body?.cancel();
  return { reason: "load", loadMs: loadDurationMs(response) };
}

/** `_debug_render_only`: the prompt the gateway rendered, or the one the engine's own template makes. */
async function renderedOnly(conversations: ReturnType<typeof createGenerateContext>, call: CompletionCall, signal: AbortSignal) {
  const engine = call.engine ?? { path: "/v1/chat/completions" as const, body: { model: call.model, messages: [] } };
  const images = JSON.stringify(engine.body.messages ?? []).match(/"image_url"/g)?.length ?? 0;
  const prompt = await conversations.render(engine, signal);
  return { model: call.model, created_at: new Date().toISOString(), debug_info: { rendered_template: prompt, image_count: images } };
}

function isPromptTooLong(error: unknown): boolean {
  return error instanceof HTTPException && error.status === 400 && error.message === promptTooLong;
}

async function collect<T>(lines: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const line of lines) all.push(line);
  return all;
}

/** The body asking for one whole reply (vLLM refuses `stream_options` then). */
function unstreamed({ stream_options: _options, ...body }: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return { ...body, stream: false };
}
