import { request, type Dispatcher } from "undici";

/**
 * How a path streams its reply: OpenAI chat completion server-sent events
 * (`data: {...}` lines, from llama-server and the engines API), Ollama's
 * NDJSON, Anthropic's Messages events or OpenAI's Responses events.
 */
export type StreamFormat = "sse" | "ndjson" | "anthropic" | "responses";

/** One way to reach a model: a URL, the dispatcher that gets there, and what it streams. */
export interface StreamTarget {
  readonly name: string;
  readonly url: string;
  readonly dispatcher: Dispatcher;
  readonly format: StreamFormat;
  /** The request body, serialised once so every request costs the client the same. */
  readonly body: string;
}

export interface StreamTiming {
  /** From sending the request to the first chunk that carries generated text. */
  readonly ttftMs: number;
  /** From sending the request to the end of the response. */
  readonly totalMs: number;
  /** Tokens generated: the engine's count when it reports one, else the text pieces received. */
  readonly tokens: number;
  readonly text: string;
}

/** Per target name: requests sent again because the server had closed a kept-alive connection. */
export const closedConnections = new Map<string, number>();

/** What one line of a stream holds, as far as timing is concerned. */
interface LinePiece {
  readonly text?: string;
  readonly reportedTokens?: number;
}

/**
 * Sends one streaming request and times it as a client sees it. The clock is
 * read when a chunk arrives, before it is parsed, so parsing (the same for
 * every target of one format) does not count.
 *
 * @throws Error for a non-200 answer or an error inside the stream
 */
export async function timeStreamedRequest(target: StreamTarget): Promise<StreamTiming> {
  const readLine = lineReaders[target.format];
  const { response, started } = await send(target);
  const decoder = new TextDecoder();
  let firstTextAt: number | undefined;
  let pending = "";
  let pieces = 0;
  let reportedTokens: number | undefined;
  let text = "";
  for await (const chunk of response.body) {
    const arrivedAt = performance.now();
    pending += decoder.decode(chunk as Buffer, { stream: true });
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      const piece = readLine(pending.slice(0, newline), target.name);
      pending = pending.slice(newline + 1);
      if (piece?.text) {
        firstTextAt ??= arrivedAt;
        pieces += 1;
        text += piece.text;
      }
      if (piece?.reportedTokens !== undefined) reportedTokens = piece.reportedTokens;
    }
  }
  const ended = performance.now();
  if (firstTextAt === undefined) throw new Error(`${target.name}: the stream carried no text`);
  return { ttftMs: firstTextAt - started, totalMs: ended - started, tokens: reportedTokens ?? pieces, text };
}

/**
 * Sends one streaming request and reads its reply as cheaply as may be, for
 * a bench that loads a server and must not be the bottleneck itself: the
 * bytes are dropped, and the tokens are the count the stream reports at its
 * end (the engine's usage, Ollama's `eval_count`).
 *
 * @throws Error for a non-200 answer or a stream that reports no count
 */
export async function drainStreamedRequest(target: StreamTarget): Promise<number> {
  const { response } = await send(target);
  let tail = "";
  for await (const chunk of response.body) tail = (tail + (chunk as Buffer).toString("latin1")).slice(-2_048);
  const counts = [...tail.matchAll(/"(?:completion_tokens|eval_count|output_tokens)":(\d+)/g)];
  if (counts.length === 0) throw new Error(`${target.name}: the stream reported no token count: ${JSON.stringify(tail.slice(-300))}`);
  return Number(counts.at(-1)![1]);
}

/** Sends `target`'s request; a 200 answer's headers and when it was sent. */
async function send(target: StreamTarget): Promise<{ response: Dispatcher.ResponseData; started: number }> {
  const post = () =>
    request(target.url, {
      method: "POST",
      dispatcher: target.dispatcher,
      headers: { "content-type": "application/json" },
      body: target.body,
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  let started = performance.now();
  let response: Dispatcher.ResponseData;
  try {
    response = await post();
  } catch (error) {
    // llama-server sometimes closes a kept-alive connection without saying so
    // (a request served by one of its short-lived extra HTTP threads); the
    // reuse then fails before any byte. Counted, and sent again on a new one.
    if ((error as { code?: string }).code !== "UND_ERR_SOCKET") throw error;
    closedConnections.set(target.name, (closedConnections.get(target.name) ?? 0) + 1);
    started = performance.now();
    response = await post();
  }
  if (response.statusCode !== 200) throw new Error(`${target.name}: HTTP ${response.statusCode}: ${await response.body.text()}`);
  return { response, started };
}

const lineReaders: Record<StreamFormat, (line: string, name: string) => LinePiece | undefined> = {
  sse(line, name) {
    if (!line.startsWith("data: ")) return undefined; // blank separators, comments
    const data = line.slice(6);
    if (data === "[DONE]") return undefined;
    const event = JSON.parse(data) as {
      choices?: { delta?: { content?: string | null } }[];
      usage?: { completion_tokens?: number } | null;
      error?: unknown;
    };
    if (event.error !== undefined) throw new Error(`${name}: ${JSON.stringify(event.error)}`);
    return { text: event.choices?.[0]?.delta?.content ?? "", reportedTokens: event.usage?.completion_tokens };
  },
  anthropic(line, name) {
    if (!line.startsWith("data: ")) return undefined; // `event:` lines name what the data says again
    const event = JSON.parse(line.slice(6)) as { type?: string; delta?: { text?: string }; usage?: { output_tokens?: number }; error?: unknown };
    if (event.type === "error") throw new Error(`${name}: ${JSON.stringify(event.error)}`);
    if (event.type === "content_block_delta") return { text: event.delta?.text ?? "" };
    return event.type === "message_delta" ? { reportedTokens: event.usage?.output_tokens } : undefined;
  },
  responses(line, name) {
    if (!line.startsWith("data: ")) return undefined;
    const event = JSON.parse(line.slice(6)) as { type?: string; delta?: string; response?: { usage?: { output_tokens?: number }; error?: unknown }; message?: string };
    if (event.type === "error" || event.type === "response.failed") throw new Error(`${name}: ${event.message ?? JSON.stringify(event.response?.error)}`);
    if (event.type === "response.output_text.delta") return { text: event.delta ?? "" };
    const ended = event.type === "response.completed" || event.type === "response.incomplete";
    return ended ? { reportedTokens: event.response?.usage?.output_tokens } : undefined;
  },
  ndjson(line, name) {
    if (line === "") return undefined;
    const reply = JSON.parse(line) as { message?: { content?: string }; response?: string; eval_count?: number; error?: string };
    if (reply.error !== undefined) throw new Error(`${name}: ${reply.error}`);
    return { text: reply.message?.content ?? reply.response ?? "", reportedTokens: reply.eval_count };
  },
};
