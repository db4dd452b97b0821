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
