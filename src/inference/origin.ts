/**
 * Tags an inference request with where it came from, so usage can be told apart
 * per front door (Ollama, OpenAI, Anthropic…). Set by the gateway's own proxy
 * layers, never trusted from outside for anything but accounting.
 */
export const RequestOriginHeader = "X-Request-Origin";

/** The request came from Ollama's `/api/chat` or `/api/generate`. */
export const OriginOllamaCompletion = "ollama/completion";
/** The request came from the Anthropic Messages API (`/v1/messages`, `/anthropic/v1/messages`). */
export const OriginAnthropicMessages = "anthropic/messages";
/** The request came from the OpenAI Responses API (`/v1/responses`). */
export const OriginOpenAIResponses = "openai/responses";

/** Requests without the header: a client of the engines API itself. */
export const OriginDirect = "direct";

/**
 * Every origin the gateway's own layers set. Metrics label a request with
 * one of these (or `direct`); any other value a client sends counts as one,
 * lest clients mint label values at will.
 */
export const KnownOrigins: readonly string[] = [OriginOllamaCompletion, OriginAnthropicMessages, OriginOpenAIResponses, OriginDirect];
