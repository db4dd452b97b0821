/**
 * Which messages of a chat fit the context, as Ollama chooses them
 * (`chatPrompt` in its server/prompt.go): drop the oldest first, but always
 * keep the system messages and the latest message.
 */

/** A chat message, as far as truncation cares. */
export interface ChatMessage {
  readonly role?: unknown;
}

export interface TruncatedHistory<M> {
  /** The system messages of the dropped part, then every message from the first kept one. */
  readonly messages: readonly M[];
  /** How many messages were dropped. */
  readonly dropped: number;
  /** False when even the latest message (with the system ones) is too long. */
  readonly fits: boolean;
}

/**
 * Drops the fewest oldest messages that make the rest fit. `fits` counts a
 * candidate with the model's own template and tokenizer, so it is asked as
 * few times as may be: once when everything fits, else a binary search over
 * where the kept part starts (fewer messages never take more tokens), where
 * Ollama tries each start in turn.
 *
 * @example await truncateHistory(messages, async (kept) => (await countTokens(kept)) < contextSize)
 */
export async function truncateHistory<M extends ChatMessage>(
  messages: readonly M[],
  fits: (candidate: readonly M[]) => Promise<boolean>,
): Promise<TruncatedHistory<M>> {
  if (messages.length === 0 || (await fits(messages))) return { messages, dropped: 0, fits: true };
  const last = messages.length - 1;
  if (last === 0) return { messages, dropped: 0, fits: false };
  let low = 1;
  let high = last;
  let highFits = false;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    if (await fits(keptFrom(messages, middle))) {
      high = middle;
      highFits = true;
    } else {
      low = middle + 1;
    }
  }
  const kept = keptFrom(messages, low);
  // `high` moves only to a start that was seen to fit; untested, it is the latest message alone.
  return { messages: kept, dropped: messages.length - kept.length, fits: highFits || (await fits(kept)) };
}

function keptFrom<M extends ChatMessage>(messages: readonly M[], start: number): M[] {
  return [...messages.slice(0, start).filter((message) => message.role === "system"), ...messages.slice(start)];
}
