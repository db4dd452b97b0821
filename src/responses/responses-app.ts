/**
 * OpenAI's Responses API as a Hono app with relative routes: mount it at
 * `/v1/responses` (and `/engines/v1/responses`). Requests are translated to
 * chat completions and sent through the engines contract, tagged
 * `openai/responses`; the engine's stream comes back as Responses events
 * (straight to Node's response, as server-sent event text), or folded into
 * one Response. Responses are kept (unless `store: false`) in a
 * bounded store, so they can be read, listed, deleted and continued.
 */
import { Hono, type Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Logger } from "pino";
import * as v from "valibot";
import { streamEventText } from "../engines/event-text.ts";
import { pieceTranslation, readPieces, type PieceTranslation } from "../engines/event-translation.ts";
import type { Engines } from "../engines/engines.ts";
import { badRequest, readRequestBody } from "../http/request-body.ts";
import { OriginOpenAIResponses } from "../inference/origin.ts";
import { chatRequestBody, inputMessages, outputMessages } from "./chat-translation.ts";
import { newId, startResponse } from "./response-object.ts";
import { createResponseStore, type ResponseStoreOptions, type StoredResponse } from "./response-store.ts";
import { createResponseStreamTranslator, type ResponseStreamTranslator } from "./response-stream.ts";
import { describeResponsesError, responseNotFound, ResponsesRequestError } from "./responses-error.ts";
import { ResponsesRequestSchema, type ResponsesRequest } from "./responses-request.ts";

export interface ResponsesAppOptions {
  readonly engines: Engines;
  readonly logger: Logger;
  readonly store: ResponseStoreOptions;
}

const ListQuerySchema = v.object({
  order: v.optional(v.picklist(["asc", "desc"], "order must be asc or desc"), "desc"),
  limit: v.optional(v.pipe(v.string(), v.toNumber(), v.integer(), v.minValue(1), v.maxValue(100)), "20"),
  after: v.optional(v.string()),
});

export function createResponsesApp(options: ResponsesAppOptions): Hono {
  const logger = options.logger.child({ component: "responses" });
  const store = createResponseStore(options.store);
  const stored = (c: Context): StoredResponse => {
    const id = c.req.param("id") ?? "";
    const entry = store.get(id);
    if (!entry) throw responseNotFound(id);
    return entry;
  };

  const app = new Hono();
  app.onError((error, c) => {
    const { status, body } = describeResponsesError(error);
    if (status >= 500) logger.warn({ err: error, path: c.req.path }, "responses request failed");
    return c.json(body, status as ContentfulStatusCode);
  });

  app.post("/", async (c) => {
    const request = await readRequestBody(c.req, ResponsesRequestSchema);
    const previous = request.previous_response_id == null ? undefined : store.get(request.previous_response_id);
    if (request.previous_response_id != null && !previous) {
      const message = `Previous response with id '${request.previous_response_id}' not found.`;
      throw new ResponsesRequestError(404, message, "previous_response_id", "previous_response_not_found");
    }
    const history = previous?.conversation ?? [];
    const input = inputMessages(request.input);
    const body = chatRequestBody(request, history, input);
    const engine = await options.engines.send({ path: "/v1/chat/completions", body, origin: OriginOpenAIResponses, signal: c.req.raw.signal });
    const translator = createResponseStreamTranslator({ response: startResponse(request, newId("resp"), new Date()), newId });
    const events = responseEvents(translator, () => {
      const response = translator.result();
      if (response.store) {
        store.put({ response, inputItems: inputItems(request.input), conversation: [...history, ...input, ...outputMessages(response.output)] });
      }
    });

    if (!request.stream) {
      await readPieces(engine.body, events);
      const response = translator.result();
      if (response.error) throw new Error(response.error.message);
      return c.json(response);
    }
    // Its usage is the engine's (asked for with include_usage): the request log takes it as the metrics read it.
    return streamEventText(c, engine.body, events, engine.usage);
  });

  app.get("/:id", (c) => c.json(stored(c).response));

  app.get("/:id/input_items", (c) => {
    const query = v.safeParse(ListQuerySchema, c.req.query());
    if (!query.success) throw badRequest(query.issues[0].message);
    const { order, limit, after } = query.output;
    const items = order === "asc" ? [...stored(c).inputItems] : [...stored(c).inputItems].reverse();
    const from = after === undefined ? 0 : items.findIndex((item) => item.id === after) + 1;
    const data = items.slice(from, from + limit);
    return c.json({ object: "list", data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: from + limit < items.length });
  });

  app.delete("/:id", (c) => {
    const id = c.req.param("id");
    if (!store.delete(id)) throw responseNotFound(id);
    return c.json({ id, object: "response.deleted", deleted: true });
  });

  return app;
}

/**
 * The engine's stream as the response's events: `response.created` and
 * `response.in_progress` with the engine's first bytes, then the output; once
 * it ends, `finished` (the response is whole, or failed).
 */
function responseEvents(translator: ResponseStreamTranslator, finished: () => void): PieceTranslation<string> {
  const output = pieceTranslation(translator);
  let started = false;
  const start = (emit: (event: string) => void) => {
    if (started) return;
    started = true;
    for (const event of translator.start()) emit(event);
  };
  return {
    push(chunk, emit) {
      start(emit);
      output.push(chunk, emit);
    },
    async end(emit, failure) {
      start(emit);
      await output.end(emit, failure);
      finished();
    },
  };
}

/** The input as the items `input_items` lists: each with an id, message content always as parts. */
function inputItems(input: ResponsesRequest["input"]): StoredResponse["inputItems"] {
  const items = typeof input === "string" ? [{ type: "message" as const, role: "user" as const, content: input }] : input;
  return items.map((item) => {
    if (item.type === "function_call" || item.type === "function_call_output") return { ...item, id: item.id ?? newId("fc") };
    if (item.type === "reasoning") return { ...item, id: item.id ?? newId("rs") };
    const content =
      typeof item.content === "string" ? [{ type: item.role === "assistant" ? ("output_text" as const) : ("input_text" as const), text: item.content }] : item.content;
    return { ...item, type: "message" as const, id: item.id ?? newId("msg"), content, status: "completed" };
  });
}
