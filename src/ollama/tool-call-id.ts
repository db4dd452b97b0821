import { randomBytes } from "node:crypto";

const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

/** Ollama's tool-call id form, `call_` and 8 lowercase alphanumerics, for engines that send none. */
export function newToolCallId(): string {
  return `call_${Array.from(randomBytes(8), (byte) => alphabet[byte % alphabet.length]).join("")}`;
}
