/**
 * Responses kept for `GET /v1/responses/{id}` and `previous_response_id`:
 * in memory, bounded by count (the oldest goes first) and by age (an expired
 * one is as gone as one never stored).
 */
import type { ChatMessage } from "./chat-translation.ts";
import type { ResponseObject } from "./response-object.ts";
import type { InputItem } from "./responses-request.ts";

export interface StoredResponse {
  readonly response: ResponseObject;
  /** The request's input items, with ids, for `input_items`. */
  readonly inputItems: readonly (InputItem & { readonly id: string })[];
  /** The whole conversation up to and with this response's output, instructions aside (they do not carry over). */
  readonly conversation: readonly ChatMessage[];
}

export interface ResponseStoreOptions {
  readonly maxEntries: number;
  readonly maxAgeMs: number;
  /** Milliseconds; injected for tests. */
  readonly now?: () => number;
}

export interface ResponseStore {
  put(entry: StoredResponse): void;
  get(id: string): StoredResponse | undefined;
  /** Whether there was such a response to delete. */
  delete(id: string): boolean;
}

export function createResponseStore({ maxEntries, maxAgeMs, now = Date.now }: ResponseStoreOptions): ResponseStore {
  // A Map iterates in insertion order: the first entry is always the oldest.
  const entries = new Map<string, { readonly entry: StoredResponse; readonly storedAt: number }>();
  const expired = (storedAt: number) => now() - storedAt > maxAgeMs;
  const prune = () => {
    for (const [id, { storedAt }] of entries) {
      if (entries.size <= maxEntries && !expired(storedAt)) break;
      entries.delete(id);
    }
  };
  return {
    put(entry) {
      if (maxEntries === 0) return;
      entries.set(entry.response.id, { entry, storedAt: now() });
      prune();
    },
    get(id) {
      prune();
      return entries.get(id)?.entry;
    },
    delete(id) {
      prune();
      return entries.delete(id);
    },
  };
}
