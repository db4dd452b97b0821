/**
 * Continue's Ollama provider, replayed: the requests `core/llm/llms/Ollama.ts`
 * (continuedev/continue) sends and the way it reads the answers, method by
 * method, in the same order and with the same bodies. Its own code is not
 * copied; each method names the one it reproduces. Reading the stream goes
 * through `streamResponse` of `packages/fetch/src/stream.ts`, which throws
 * the body's text on any status but 200.
 */

export interface ContinueCompletionOptions {
  temperature?: number;
  maxTokens?: number;
  stop?: string[];
  keepAlive?: number;
  stream?: boolean;
  raw?: boolean;
  reasoning?: boolean;
  tools?: { type: "function"; function: { name: string; description?: string; parameters?: object } }[];
}

export interface ContinueChatMessage {
  role: "user" | "assistant" | "system" | "tool" | "thinking";
  content: string;
  toolCalls?: { type: "function"; id: string; function: { name: string; arguments: string } }[];
  toolCallId?: string;
}

/** `DEFAULT_OLLAMA_CONTEXT_LENGTH` in `get contextLength()`: what Continue assumes when /api/show names no num_ctx. */
export const continueDefaultContextLength = 8192;

export class ContinueOllama {
  /** What `ensureModelInfo` learnt; read by the replay's assertions. */
  fimSupported = false;
  contextLength: number | undefined;
  stop: string[] | undefined;
  readonly requests: { path: string; body: Record<string, unknown> }[] = [];
  private modelInfo: Promise<void> | undefined;

  constructor(
    private readonly apiBase: string,
    readonly model: string,
  ) {}

  /** `ensureModelInfo`: one POST /api/show `{name}`; non-200 or a network error leaves the defaults. */
  ensureModelInfo(): Promise<void> {
    this.modelInfo ??= this.post("api/show", { name: this.model })
      .then(async (response) => {
        if (response.status !== 200) return;
        const body = (await response.json()) as { parameters?: string; template?: string };
        for (const line of body.parameters?.split("\n") ?? []) {
          // One `key value` line of Ollama's parameters text; a quoted value is JSON.
          const parts = /^(\S+)\s+((?:".*")|\S+)$/.exec(line);
          if (!parts) continue;
          const [, key, value] = parts as unknown as [string, string, string];
          if (key === "num_ctx") this.contextLength = Number.parseInt(value);
          if (key === "stop") {
            try {
              (this.stop ??= []).push(JSON.parse(value) as string);
            } catch {
              // Continue warns and goes on.
            }
          }
        }
        // "There is no API to get the model's FIM capabilities": a `.Suffix` in the Go template is the sign.
        this.fimSupported = !!body.template?.includes(".Suffix");
      })
      .catch(() => undefined);
    return this.modelInfo;
  }

  /** `_getModelFileParams`: undefined fields vanish in JSON.stringify, as in Continue. */
  private modelFileParams(options: ContinueCompletionOptions) {
    return {
      temperature: options.temperature,
      num_predict: options.maxTokens,
      stop: options.stop ?? this.stop,
      num_ctx: this.contextLength ?? continueDefaultContextLength,
    };
  }

  /** `_getGenerateOptions`: keep_alive defaults to 30 minutes, in seconds. */
  private generateOptions(options: ContinueCompletionOptions, prompt: string, suffix?: string) {
    return {
      model: this.model,
      prompt,
      suffix,
      raw: options.raw,
      options: this.modelFileParams(options),
      keep_alive: options.keepAlive ?? 60 * 30,
      stream: options.stream,
    };
  }

  /** `_streamComplete` (autocomplete without FIM sends `raw: true`, `CompletionStreamer.ts`). */
  async *streamComplete(prompt: string, options: ContinueCompletionOptions, signal?: AbortSignal): AsyncGenerator<string> {
    await this.ensureModelInfo();
    const response = await this.post("api/generate", this.generateOptions(options, prompt), signal);
    for await (const line of ndjsonChunks(response)) {
      const parsed = parseOrThrow(line) as { error?: string; response?: string };
      if ("error" in parsed) throw new Error(`Error parsing Ollama response: Error: ${parsed.error} ${line}`);
      yield parsed.response ?? "";
    }
  }

  /** `_streamFim`: the same request with `suffix`; lines without `response` and without `error` are skipped. */
  async *streamFim(prefix: string, suffix: string, options: ContinueCompletionOptions): AsyncGenerator<string> {
    await this.ensureModelInfo();
    const response = await this.post("api/generate", this.generateOptions(options, prefix, suffix));
    for await (const line of ndjsonChunks(response)) {
      const parsed = parseOrThrow(line) as Record<string, unknown>;
      if ("response" in parsed) yield parsed.response as string;
      else if ("error" in parsed) throw new Error(`Error parsing Ollama response: Error: ${String(parsed.error)} ${line}`);
    }
  }

  /** `_streamChat` with `convertChatMessage`: tools only when the last message is the user's. */
  async *streamChat(messages: ContinueChatMessage[], options: ContinueCompletionOptions): AsyncGenerator<ContinueChatMessage> {
    await this.ensureModelInfo();
    const ollamaMessages = messages.map(toOllamaMessage);
    const body: Record<string, unknown> = {
      model: this.model,
      messages: ollamaMessages,
      options: this.modelFileParams(options),
      think: options.reasoning,
      keep_alive: options.keepAlive ?? 60 * 30,
      stream: options.stream,
    };
    if (options.tools?.length && ollamaMessages.at(-1)?.role === "user") {
      body.tools = options.tools.map((tool) => ({ type: "function", function: { name: tool.function.name, description: tool.function.description, parameters: tool.function.parameters } }));
    }
    const response = await this.post("api/chat", body);
    if (options.stream === false) {
      yield* fromChatResponse((await response.json()) as ChatLine);
      return;
    }
    for await (const line of ndjsonChunks(response)) yield* fromChatResponse(parseOrThrow(line) as ChatLine);
  }

  /** `listModels`: GET /api/tags, the `name` of each. */
  async listModels(): Promise<string[]> {
    const response = await fetch(new URL("api/tags", this.apiBase), { method: "GET", headers: { "Content-Type": "application/json" } });
    const data = (await response.json()) as { models: { name: string }[] };
    if (!response.ok) throw new Error("Failed to list Ollama models. Make sure Ollama is running.");
    return data.models.map((model) => model.name);
  }

  /** `_embed`: POST /api/embed `{model, input}`, `embeddings` must not be empty. */
  async embed(chunks: string[]): Promise<number[][]> {
    const response = await this.post("api/embed", { model: this.model, input: chunks });
    if (!response.ok) throw new Error(`Failed to embed chunk: ${await response.text()}`);
    const { embeddings } = (await response.json()) as { embeddings?: number[][] };
    if (!embeddings || embeddings.length === 0) throw new Error("Ollama generated empty embedding");
    return embeddings;
  }

  /**
   * `installModel`: POST /api/pull `{name}` with `Authorization: Bearer undefined`
   * when no key is set; each network chunk is split on newlines and parsed
   * line by line (a line split across chunks is warned about and lost).
   */
  async installModel(name: string, progress: (status: string, completed?: number, total?: number) => void): Promise<void> {
    const response = await fetch(new URL("api/pull", this.apiBase), {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${undefined}` },
      body: JSON.stringify({ name }),
    });
    const decoder = new TextDecoder();
    for await (const chunk of response.body!) {
      for (const line of decoder.decode(chunk).split("\n").filter(Boolean)) {
        try {
          const data = JSON.parse(line) as { status: string; completed?: number; total?: number };
          progress(data.status, data.completed, data.total);
        } catch {
          // Continue warns and goes on.
        }
      }
    }
  }

  private post(path: string, body: Record<string, unknown>, signal?: AbortSignal): Promise<Response> {
    this.requests.push({ path, body });
    return fetch(new URL(path, this.apiBase), { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), ...(signal ? { signal } : {}) });
  }
}

type ChatLine =
  | { error: string }
  | { message: { role: string; content: string; thinking?: string; tool_calls?: { function: { name: string; arguments: unknown } }[] }; done: boolean };

/** `_convertToOllamaMessage`: tool call arguments go back as objects. */
function toOllamaMessage(message: ContinueChatMessage): Record<string, unknown> {
  const converted: Record<string, unknown> = { role: message.role, content: message.content };
  if (message.role === "assistant" && message.toolCalls?.length) {
    converted.tool_calls = message.toolCalls.map((call) => ({ function: { name: call.function.name, arguments: JSON.parse(call.function.arguments) as unknown } }));
  }
  return converted;
}

/** `convertChatMessage`: an error line throws; tool calls get Continue's own ids, arguments as JSON text. */
function* fromChatResponse(line: ChatLine): Generator<ContinueChatMessage> {
  if ("error" in line) throw new Error(line.error);
  const { role, content, thinking, tool_calls: toolCalls } = line.message;
  if (role === "tool") throw new Error("Unexpected message received from Ollama with role = tool");
  if (role !== "assistant") {
    yield { role: role as ContinueChatMessage["role"], content };
    return;
  }
  if (thinking && !content && !toolCalls?.length) {
    yield { role: "thinking", content: thinking };
    return;
  }
  if (thinking) yield { role: "thinking", content: thinking };
  yield {
    role: "assistant",
    content,
    ...(toolCalls?.length
      ? { toolCalls: toolCalls.map((call, i) => ({ type: "function" as const, id: `tc_${i}`, function: { name: call.function.name, arguments: JSON.stringify(call.function.arguments) } })) }
      : {}),
  };
}

/** `streamResponse` then Continue's buffer: non-200 throws the body's text; blank lines are skipped. */
async function* ndjsonChunks(response: Response): AsyncGenerator<string> {
  if (response.status !== 200) throw new Error(await response.text());
  let buffer = "";
  for await (const text of response.body!.pipeThrough(new TextDecoderStream("utf-8"))) {
    buffer += text;
    const chunks = buffer.split("\n");
    buffer = chunks.pop() ?? "";
    for (const chunk of chunks) if (chunk.trim() !== "") yield chunk;
  }
}

function parseOrThrow(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch (error) {
    throw new Error(`Error parsing Ollama response: ${String(error)} ${line}`);
  }
}
