/**
 * An engine's chat completion chunks (SSE) as Anthropic's message event
 * stream, and the whole message they add up to. Pure: text in, events out;
 * the ids come from outside, so every rule is tested by feeding strings.
 *
 * `message_start` (then `ping`) on the engine's first chunk; one content block
 * per run of reasoning (`thinking`), text (`text`) or tool call (`tool_use`,
 * its arguments as `input_json_delta`), each opened on its first delta and
 * stopped when another begins or the engine finishes; then `message_delta`
 * with the stop reason (`stop` → `end_turn`, or `stop_sequence` when the
 * engine names the stop string it met, as vLLM does in `stop_reason`;
 * `length` → `max_tokens`; tool calls → `tool_use`) and the usage, and
 * `message_stop`. An engine's error, or a stream that ends before the engine
 * finished, is one `error` event that ends the stream.
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { sseEvent } from "../http/sse-event.ts";
import type { EventStreamTranslator } from "../engines/event-translation.ts";
import type { Choice, ToolCallDelta } from "../engines/engine-chunk.ts";
import { createEngineEventReader } from "../engines/engine-event.ts";
import { anthropicError } from "./anthropic-error.ts";
import { anthropicId, type AnthropicIdPrefix } from "./anthropic-id.ts";
import { errorEvent, ping } from "./native-messages.ts";

export type StopReason = "end_turn" | "max_tokens" | "stop_sequence" | "tool_use";

export interface MessageUsage {
  input_tokens: number;
  output_tokens: number;
}

export type ContentBlock =
  | { readonly type: "text"; readonly text: string }
  | { readonly type: "thinking"; readonly thinking: string; readonly signature: string }
  | { readonly type: "tool_use"; readonly id: string; readonly name: string; readonly input: unknown };

export interface Message {
  readonly id: string;
  readonly type: "message";
  readonly role: "assistant";
  readonly model: string;
  readonly content: ContentBlock[];
  readonly stop_reason: StopReason | null;
  readonly stop_sequence: string | null;
  readonly usage: MessageUsage;
}

/** Translates to server-sent events as written on the wire; a token's delta is one string, built without objects. */
export interface ChatStreamTranslator extends EventStreamTranslator<string> {
  /** The message as it stands; whole once `message_stop` was emitted. */
  message(): Message;
  /** Why the stream failed, once it has. */
  failure(): string | undefined;
}

export interface ChatStreamOptions {
  /** The model as the client named it. */
  readonly model: string;
  /** The request's `stop_sequences`: a stop string the engine names is reported only if asked for. */
  readonly stopSequences?: readonly string[];
  readonly newId: (prefix: AnthropicIdPrefix) => string;
}

/** A content block being produced, with what it has gathered. */
type OpenBlock =
  | { readonly type: "text" | "thinking"; readonly index: number; text: string }
  | { readonly type: "tool_use"; readonly index: number; readonly id: string; name: string; json: string };

const incomplete = "the engine's stream ended before the message was complete";
const messageStop = sseEvent("message_stop", '{"type":"message_stop"}');

export function createChatStreamTranslator({ model, stopSequences = [], newId }: ChatStreamOptions): ChatStreamTranslator {
  const id = newId("msg_");
  const blocks: OpenBlock[] = [];
  const calls = new Map<number, OpenBlock & { type: "tool_use" }>();
  const usage: MessageUsage = { input_tokens: 0, output_tokens: 0 };
  let current: OpenBlock | undefined;
  let started = false;
  let finish: string | undefined;
  let stopSequence: string | null = null;
  let ended = false;
  let failed: string | undefined;
  const out: string[] = [];
  const emit = (type: string, fields: string) => out.push(sseEvent(type, `{"type":"${type}",${fields}}`));

  const message = (): Message => ({
    id,
    type: "message",
    role: "assistant",
    model,
    content: blocks.map(contentBlock),
    stop_reason: finish === undefined ? null : stopReason(finish, stopSequence, calls.size > 0),
    stop_sequence: stopSequence,
    usage: { ...usage },
  });

  const start = () => {
    if (started) return;
    started = true;
    emit("message_start", `"message":${JSON.stringify({ ...message(), content: [], stop_reason: null })}`);
    out.push(ping);
  };

  const stopCurrent = () => {
    if (!current) return;
    emit("content_block_stop", `"index":${current.index}`);
    current = undefined;
  };

  const open = (block: OpenBlock, contentBlock: object) => {
    stopCurrent();
    blocks.push(block);
    current = block;
    emit("content_block_start", `"index":${block.index},"content_block":${JSON.stringify(contentBlock)}`);
  };

  const textDelta = (type: "text" | "thinking", piece: string) => {
    if (current?.type !== type) open({ type, index: blocks.length, text: "" }, type === "text" ? { type, text: "" } : { type, thinking: "", signature: "" });
    const block = current as OpenBlock & { type: typeof type };
    block.text += piece;
    const delta = type === "text" ? `"type":"text_delta","text":` : `"type":"thinking_delta","thinking":`;
    emit("content_block_delta", `"index":${block.index},"delta":{${delta}${JSON.stringify(piece)}}`);
  };

  const toolCallDelta = (delta: ToolCallDelta) => {
    const key = delta.index ?? 0;
    let call = calls.get(key);
    if (!call) {
      call = { type: "tool_use", index: blocks.length, id: anthropicId("toolu_", delta.id || newId("toolu_")), name: delta.function?.name ?? "", json: "" };
      calls.set(key, call);
      open(call, { type: "tool_use", id: call.id, name: call.name, input: {} });
    }
    call.name ||= delta.function?.name ?? "";
    const piece = delta.function?.arguments ?? "";
    if (!piece) return;
    call.json += piece;
    // Calls arrive one after another; a late piece of an earlier one still belongs to its input.
    if (current === call) emit("content_block_delta", `"index":${call.index},"delta":{"type":"input_json_delta","partial_json":${JSON.stringify(piece)}}`);
  };

  const onChoice = (choice: Choice) => {
    const reasoning = choice.delta?.reasoning_content ?? choice.delta?.reasoning ?? "";
    if (reasoning) textDelta("thinking", reasoning);
    const text = choice.delta?.content ?? "";
    if (text) textDelta("text", text);
    if (choice.delta?.tool_calls) for (const call of choice.delta.tool_calls) toolCallDelta(call);
    if (!choice.finish_reason) return;
    finish = choice.finish_reason;
    const matched = choice.stop_reason;
    if (finish === "stop" && typeof matched === "string" && stopSequences.includes(matched)) stopSequence = matched;
    stopCurrent();
  };

  const fail = (reason: string) => {
    if (ended) return;
    ended = true;
    failed = reason;
    out.push(errorEvent(anthropicError("api_error", reason)));
  };

  const complete = () => {
    if (ended) return;
    if (finish === undefined) return fail(incomplete);
    ended = true;
    start();
    const { stop_reason, stop_sequence } = message();
    emit("message_delta", `"delta":${JSON.stringify({ stop_reason, stop_sequence })},"usage":${JSON.stringify(usage)}`);
    out.push(messageStop);
  };

  const readEvent = createEngineEventReader();
  const onEvent = (event: EventSourceMessage) => {
    if (ended) return;
    const read = readEvent(event);
    if (read === "done") return complete();
    if ("failure" in read) return fail(read.failure);
    const { chunk } = read;
    start();
    if (chunk.usage) {
      usage.input_tokens = chunk.usage.prompt_tokens;
      usage.output_tokens = chunk.usage.completion_tokens;
    }
    const choice = chunk.choices?.[0];
    if (choice && finish === undefined) onChoice(choice);
  };

  const parser = createParser({ onEvent });
  return {
    push: (text) => (parser.feed(text), out.splice(0)),
    end(failure) {
      parser.reset({ consume: true });
      if (failure) fail(`the engine's stream broke: ${failure}`);
      else complete();
      return out.splice(0);
    },
    message,
    failure: () => failed,
  };
}

function stopReason(finish: string, stopSequence: string | null, calledTools: boolean): StopReason {
  if (finish === "length") return "max_tokens";
  if (finish === "tool_calls" || calledTools) return "tool_use";
  return stopSequence === null ? "end_turn" : "stop_sequence";
}

function contentBlock(block: OpenBlock): ContentBlock {
  if (block.type === "tool_use") return { type: "tool_use", id: block.id, name: block.name, input: toolInput(block.json) };
  return block.type === "text" ? { type: "text", text: block.text } : { type: "thinking", thinking: block.text, signature: "" };
}

/** The arguments as the object Anthropic's `input` is; what is not one is kept whole under `arguments` rather than lost. */
function toolInput(json: string): unknown {
  if (json.trim() === "") return {};
  try {
    const value: unknown = JSON.parse(json);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? value : { arguments: value };
  } catch {
    return { arguments: json };
  }
}
