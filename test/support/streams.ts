/**
 * Strict readers of what the gateway streams, for tests that must see every
 * line: each NDJSON line parses and exactly one `done` object ends the
 * stream; each SSE event parses and `[DONE]` ends it. A malformed stream
 * throws, naming what was wrong.
 */
import assert from "node:assert/strict";

export interface NdjsonReply {
  /** The text of every chunk, joined. */
  readonly content: string;
  /** Chunks before the final object. */
  readonly chunks: number;
  readonly final: Record<string, unknown>;
}

/** Reads an Ollama NDJSON stream (`/api/chat` or `/api/generate`) whole. */
export async function readNdjsonReply(response: Response, field: "message" | "response"): Promise<NdjsonReply> {
  assert.equal(response.status, 200, `status ${response.status}`);
  assert.equal(response.headers.get("content-type"), "application/x-ndjson");
  const text = await response.text();
  assert.ok(text.endsWith("\n"), "the stream ends with a newline");
  const lines = text.slice(0, -1).split("\n").map((line, index) => {
    assert.ok(line.length > 0, `line ${index} is blank`);
    return JSON.parse(line) as Record<string, unknown>;
  });
  const errors = lines.filter((line) => "error" in line);
  assert.deepEqual(errors, [], "no error line");
  const final = lines.at(-1)!;
  assert.equal(final.done, true, "the last line is the done object");
  assert.equal(lines.filter((line) => line.done === true).length, 1, "exactly one done object");
  const chunks = lines.slice(0, -1);
  let content = "";
  for (const chunk of chunks) {
    assert.equal(chunk.eval_count, undefined, "counts only on the final object");
    content += field === "message" ? (chunk.message as { content: string }).content : (chunk.response as string);
  }
  return { content, chunks: chunks.length, final };
}

export interface SseReply {
  readonly content: string;
  /** Events with a non-empty content delta. */
  readonly contentChunks: number;
  readonly finishReason: string;
  readonly completionTokens: number;
}

/** Reads an OpenAI chat-completion event stream whole, asked for with `stream_options.include_usage`. */
export async function readSseReply(response: Response): Promise<SseReply> {
  assert.equal(response.status, 200, `status ${response.status}`);
  assert.match(response.headers.get("content-type") ?? "", /^text\/event-stream/);
  const events = (await response.text())
    .split(/\r?\n\r?\n/)
    .map((event) => event.split(/\r?\n/).filter((line) => line.startsWith("data:")).map((line) => line.slice(5).trim()).join("\n"))
    .filter(Boolean);
  assert.equal(events.at(-1), "[DONE]", "the stream ends with [DONE]");
  assert.equal(events.filter((event) => event === "[DONE]").length, 1);
  let content = "";
  let contentChunks = 0;
  const finishReasons: string[] = [];
  const usages: { completion_tokens: number }[] = [];
  for (const event of events.slice(0, -1)) {
    const chunk = JSON.parse(event) as {
      error?: unknown;
      choices: { delta: { content?: string | null }; finish_reason: string | null }[];
      usage?: { completion_tokens: number } | null;
    };
    assert.equal(chunk.error, undefined, `an error event: ${event}`);
    const choice = chunk.choices[0];
    if (choice?.delta.content) {
      content += choice.delta.content;
      contentChunks += 1;
    }
    if (choice?.finish_reason) finishReasons.push(choice.finish_reason);
    if (chunk.usage) usages.push(chunk.usage);
  }
  assert.equal(finishReasons.length, 1, "one finish_reason");
  assert.equal(usages.length, 1, "one usage");
  return { content, contentChunks, finishReason: finishReasons[0]!, completionTokens: usages[0]!.completion_tokens };
}

/** Each NDJSON object of a response as it arrives, for tests that act mid-stream. */
export async function* ndjsonLines(response: Response): AsyncGenerator<Record<string, unknown>> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of response.body!) {
    pending += decoder.decode(chunk, { stream: true });
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines) yield JSON.parse(line) as Record<string, unknown>;
  }
  assert.equal(pending + decoder.decode(), "", "the stream ends with a whole line");
}

/** One server-sent event as a translator wrote it (`event: name`, one `data:` line of JSON), read back. */
export interface WrittenEvent {
  readonly event: string;
  readonly data: unknown;
}

/** Reads back events written as text, one event per piece; a piece that is not exactly one event fails. */
export function readWrittenEvents(pieces: readonly string[]): WrittenEvent[] {
  return pieces.map((piece) => {
    const match = /^event: ([^\n]+)\ndata: ([^\n]*)\n\n$/.exec(piece);
    if (!match) throw new Error(`not one server-sent event: ${JSON.stringify(piece)}`);
    return { event: match[1]!, data: JSON.parse(match[2]!) as unknown };
  });
}
