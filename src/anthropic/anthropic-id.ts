/** Anthropic's id forms: `msg_…` for messages, `toolu_…` for tool calls. */
import { randomHex } from "../utilities/random-hex.ts";

export type AnthropicIdPrefix = "msg_" | "toolu_";

export function newAnthropicId(prefix: AnthropicIdPrefix): string {
  return prefix + randomHex(12);
}

/** `id` with Anthropic's prefix (an engine's own id kept after it), or a new id when there is none. */
export function anthropicId(prefix: AnthropicIdPrefix, id: unknown): string {
  if (typeof id !== "string" || id === "") return newAnthropicId(prefix);
  return id.startsWith(prefix) ? id : prefix + id;
}
