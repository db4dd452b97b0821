/**
 * The engine's chat completion chunks (SSE) turned into the Responses API's
 * event stream, and the finished Response object with it. Pure: text in,
 * events out; ids and the start come from outside, so every rule is tested by
 * feeding strings.
 *
 * Output items appear in the order the engine produces them: reasoning, the
 * message, then one `function_call` item per tool call. Each item is opened
 * (`output_item.added`, `content_part.added`) on its first delta and closed
 * (`….done`) when the engine finishes; the response ends with
 * `response.completed` (or `response.incomplete` when the token limit cut it,
 * or `response.failed` when the engine failed or its stream broke). Every
 * event carries its `sequence_number`. Events come out as server-sent event
 * text, as written on the wire; a token's delta is one string, built from
 * its item's fields written once when the item opened.
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { sseEvent } from "../http/sse-event.ts";
import type { EventStreamTranslator } from "../engines/event-translation.ts";
import type { EngineChunk, ToolCallDelta } from "../engines/engine-chunk.ts";
import { createEngineEventReader } from "../engines/engine-event.ts";
import type {
  FunctionCallItem,
  ItemStatus,
  OutputItem,
  OutputMessage,
  OutputText,
  ReasoningItem,
  ReasoningText,
  ResponseObject,
  ResponseUsage,
} from "./response-object.ts";

export interface ResponseStreamTranslator extends EventStreamTranslator<string> {
  /** `response.created` and `response.in_progress`: the engine has accepted the request. */
  start(): string[];
  /** The response as it stands: finished once a terminal event has been emitted. */
  result(): ResponseObject;
}

export interface ResponseStreamOptions {
  /** The response as started, with nothing output yet. */
  readonly response: ResponseObject;
  readonly newId: (prefix: "msg" | "fc" | "rs" | "call") => string;
}

/** An output item being produced, with what it has gathered so far; `fields` are its events' `item_id`, `output_index` (and `content_index`), as JSON. */
type OpenItem =
  | { readonly kind: "message"; readonly index: number; readonly id: string; readonly fields: string; text: string }
  | { readonly kind: "reasoning"; readonly index: number; readonly id: string; readonly fields: string; text: string }
  | { readonly kind: "function_call"; readonly index: number; readonly id: string; readonly fields: string; callId: string; name: string; arguments: string };

type TextItem = Extract<OpenItem, { kind: "message" | "reasoning" }>;

const incomplete = "the engine's stream ended before the response was complete";

export function createResponseStreamTranslator({ response: started, newId }: ResponseStreamOptions): ResponseStreamTranslator {
  let response = started;
  let sequence = 0;
  let finishReason: string | undefined;
  let usage: ResponseUsage | undefined;
  let ended = false;
  const output: OutputItem[] = [];
  /** Items still open, in output order; text and reasoning close when another kind begins. */
  const open: OpenItem[] = [];
  const calls = new Map<number, Extract<OpenItem, { kind: "function_call" }>>();
  const out: string[] = [];

  /** An event: its type and number, then `fields`, the rest of its JSON object's members, already written. */
  const emit = (type: string, fields: string) => out.push(sseEvent(type, `{"type":"${type}","sequence_number":${sequence++},${fields}}`));
  const emitDelta = (type: string, item: OpenItem, delta: string, tail = "") => emit(type, `${item.fields},"delta":${JSON.stringify(delta)}${tail}`);
  const emitItem = (type: string, index: number, item: OutputItem) => emit(type, `"output_index":${index},"item":${JSON.stringify(item)}`);
  const emitResponse = (type: string) => emit(type, `"response":${JSON.stringify(response)}`);
  const snapshot = (status: ResponseObject["status"], extra: Partial<ResponseObject> = {}): ResponseObject => ({
    ...response,
    status,
    output: [...output],
    ...extra,
  });

  const openText = (kind: TextItem["kind"]): TextItem => {
    const current = open.at(-1);
    if (current && current.kind === kind) return current as TextItem;
    closeAll();
    const index = output.length;
    const id = newId(kind === "message" ? "msg" : "rs");
    const item: TextItem = { kind, index, id, fields: deltaFields(id, index, true), text: "" };
    const added = itemOf(item, "in_progress");
    output.push(added);
    open.push(item);
    emitItem("response.output_item.added", index, added);
    emit("response.content_part.added", `${item.fields},"part":${JSON.stringify(partOf(item))}`);
    return item;
  };

  const onToolCallDelta = (delta: ToolCallDelta) => {
    const toolIndex = delta.index ?? 0;
    let call = calls.get(toolIndex);
    if (!call) {
      if (open.at(-1)?.kind !== "function_call") closeAll();
      const index = output.length;
      const id = newId("fc");
      call = { kind: "function_call", index, id, fields: deltaFields(id, index, false), callId: delta.id || newId("call"), name: delta.function?.name ?? "", arguments: "" };
      const added = itemOf(call, "in_progress");
      calls.set(toolIndex, call);
      output.push(added);
      open.push(call);
      emitItem("response.output_item.added", index, added);
    }
    call.name ||= delta.function?.name ?? "";
    const piece = delta.function?.arguments ?? "";
    if (piece) {
      call.arguments += piece;
      emitDelta("response.function_call_arguments.delta", call, piece);
    }
  };

  /** Closes every open item, in output order; `status` is the finished items' status. */
  const closeAll = (status: ItemStatus = "completed") => {
    for (const item of open.splice(0)) {
      const done = itemOf(item, status);
      output[item.index] = done;
      if (item.kind === "function_call") {
        emit("response.function_call_arguments.done", `${item.fields},"arguments":${JSON.stringify(item.arguments)},"name":${JSON.stringify(item.name)}`);
      } else {
        const text = `${item.fields},"text":${JSON.stringify(item.text)}`;
        if (item.kind === "message") emit("response.output_text.done", `${text},"logprobs":[]`);
        else emit("response.reasoning_text.done", text);
        emit("response.content_part.done", `${item.fields},"part":${JSON.stringify(partOf(item))}`);
      }
      emitItem("response.output_item.done", item.index, done);
    }
  };

  const fail = (message: string) => {
    if (ended) return;
    ended = true;
    response = snapshot("failed", { error: { code: "server_error", message }, ...(usage ? { usage } : {}) });
    emitResponse("response.failed");
  };

  const complete = () => {
    if (ended) return;
    ended = true;
    const cut = finishReason === "length";
    response = snapshot(cut ? "incomplete" : "completed", {
      ...(usage ? { usage } : {}),
      ...(cut ? { incomplete_details: { reason: "max_output_tokens" } } : {}),
    });
    emitResponse(cut ? "response.incomplete" : "response.completed");
  };

  const readEvent = createEngineEventReader();
  const onEvent = (event: EventSourceMessage) => {
    if (ended) return;
    const read = readEvent(event);
    if (read === "done") return finishReason === undefined ? fail(incomplete) : complete();
    if ("failure" in read) return fail(read.failure);
    const { chunk } = read;
    if (chunk.usage) usage = responseUsage(chunk);
    const choice = chunk.choices?.[0];
    if (!choice || finishReason !== undefined) return;
    const thinking = choice.delta?.reasoning_content ?? choice.delta?.reasoning ?? "";
    if (thinking) {
      const item = openText("reasoning");
      item.text += thinking;
      emitDelta("response.reasoning_text.delta", item, thinking);
    }
    const content = choice.delta?.content ?? "";
    if (content) {
      const item = openText("message");
      item.text += content;
      emitDelta("response.output_text.delta", item, content, ',"logprobs":[]');
    }
    if (choice.delta?.tool_calls) for (const delta of choice.delta.tool_calls) onToolCallDelta(delta);
    if (choice.finish_reason) {
      finishReason = choice.finish_reason;
      closeAll(finishReason === "length" ? "incomplete" : "completed");
    }
  };

  const parser = createParser({ onEvent });
  return {
    start() {
      // The same response twice: written once.
      const json = JSON.stringify(response);
      emit("response.created", `"response":${json}`);
      emit("response.in_progress", `"response":${json}`);
      return out.splice(0);
    },
    push: (text) => (parser.feed(text), out.splice(0)),
    end(failure) {
      parser.reset({ consume: true });
      if (failure) fail(`the engine's stream broke: ${failure}`);
      else if (finishReason === undefined) fail(incomplete);
      else complete();
      return out.splice(0);
    },
    result: () => response,
  };
}

/** `"item_id":"msg_…","output_index":0`, and `"content_index":0` for a text part. */
function deltaFields(id: string, index: number, part: boolean): string {
  return `"item_id":${JSON.stringify(id)},"output_index":${index}${part ? ',"content_index":0' : ""}`;
}

function itemOf(item: OpenItem, status: ItemStatus): OutputItem {
  switch (item.kind) {
    case "message":
      return { type: "message", id: item.id, role: "assistant", status, content: status === "in_progress" ? [] : [outputText(item.text)] } satisfies OutputMessage;
    case "reasoning":
      return { type: "reasoning", id: item.id, status, summary: [], content: status === "in_progress" ? [] : [reasoningText(item.text)] } satisfies ReasoningItem;
    case "function_call":
      return { type: "function_call", id: item.id, call_id: item.callId, name: item.name, arguments: item.arguments, status } satisfies FunctionCallItem;
  }
}

function partOf(item: TextItem): OutputText | ReasoningText {
  return item.kind === "message" ? outputText(item.text) : reasoningText(item.text);
}

function outputText(text: string): OutputText {
  return { type: "output_text", text, annotations: [], logprobs: [] };
}

function reasoningText(text: string): ReasoningText {
  return { type: "reasoning_text", text };
}

/** llama-server counts cached prompt tokens in `prompt_tokens` and says how many in `timings.cache_n`. */
function responseUsage({ usage, timings }: EngineChunk): ResponseUsage | undefined {
  if (!usage) return undefined;
  return {
    input_tokens: usage.prompt_tokens,
    input_tokens_details: { cached_tokens: timings?.cache_n ?? 0, cache_write_tokens: 0 },
    output_tokens: usage.completion_tokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: usage.prompt_tokens + usage.completion_tokens,
  };
}
