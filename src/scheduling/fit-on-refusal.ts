/**
 * A completion fitted to its runner's context only when the engine refuses
 * it for its length. llama-server refuses a prompt of `n_ctx` tokens or more
 * (its slot's context, which `contextSize` is) with a 400 of type
 * `exceed_context_size_error` before it streams anything, context shift or
 * not; so a chat or a prompt goes as it is, and only a refused one is fitted
 * as before (`fitCompletionContext`: the runner's template and tokenizer, a
 * chat's oldest messages dropped, a prompt's middle cut) and sent again. What
 * reaches the model is what fitting first would have sent, and every request
 * that fits is spared a round trip to the runner before its first token (a
 * chat's template; a long prompt's tokens). Where the engine counts otherwise
 * than Ollama (an image of a vision model, 768 tokens to Ollama), the chat is
 * fitted first.
 */
import { EngineRefusal } from "../engines/engines.ts";
import type { CompletionRunner } from "./completion-context.ts";
import { hasImages } from "./completion-context.ts";
import { engineRefusal } from "./engine-refusal.ts";
import type { Lease } from "./loader.ts";
import type { ForwardLease, ForwardObserver, RunnerReply } from "./runner-proxy.ts";

/** Whether a request may go unfitted, to be fitted if the engine refuses it for its context. */
export function fitsOnRefusal(path: string, body: Uint8Array, runner: CompletionRunner): boolean {
  if (path === "/v1/completions") return true;
  return path === "/v1/chat/completions" && (runner.model.projectorPath === undefined || !hasImages(body));
}

export interface FitOnRefusal {
  readonly lease: Lease;
  readonly observer: ForwardObserver | undefined;
  /** Sends a body to the runner on a lease, heard by an observer. */
  readonly send: (body: Uint8Array, lease: ForwardLease, observer: ForwardObserver | undefined) => Promise<RunnerReply>;
  /** The fit before sending: the body to send instead (the same when it fits), or its refusal. */
  readonly fit: () => Promise<Uint8Array>;
}

/**
 * Sends `body`; refused for its context, sends the fitted body on the same
 * lease. A refused attempt's release and what its observer hears wait until
 * it is known whether it stands: one sent again is never seen.
 *
 * @throws EngineRefusal, or what `fit` throws (ContextLengthExceededError)
 */
export async function sendFittingOnRefusal(body: Uint8Array, { lease, observer, send, fit }: FitOnRefusal): Promise<RunnerReply> {
  const first = heldBack(lease, observer);
  let refusal: Awaited<ReturnType<typeof engineRefusal>>;
  try {
    const reply = await send(body, first.lease, first.observer);
    if (reply.status !== 400) {
      first.pass();
      return reply;
    }
    refusal = await engineRefusal(reply);
  } catch (error) {
    first.pass();
    throw error;
  }
  if (refusal.code !== "context_length_exceeded") {
    first.pass();
    throw new EngineRefusal(refusal.status, refusal.message, refusal.type, refusal.code);
  }
  let fitted: Uint8Array;
  try {
    fitted = await fit();
  } catch (error) {
    first.drop(); // `fit` gave the lease back and settled the observer, as when it runs first
    throw error;
  }
  // The fit finds that it fits: the engine's refusal stands, as it would have after fitting first.
  if (fitted === body) {
    first.pass();
    throw new EngineRefusal(refusal.status, refusal.message, refusal.type, refusal.code);
  }
  first.drop();
  return send(fitted, lease, observer);
}

/**
 * A lease and an observer for an attempt that may be taken back: from a
 * refusal's status (400) on, their calls wait to be passed on, or dropped;
 * any other answer passes them on at once.
 */
function heldBack(lease: Lease, observer: ForwardObserver | undefined) {
  let state: "passing" | "holding" | "dropped" = "passing";
  const held: Array<() => void> = [];
  const later = (call: () => void) => {
    if (state === "passing") call();
    else if (state === "holding") held.push(call);
  };
  return {
    lease: { ...lease, release: () => (state === "passing" ? lease.release() : later(() => lease.release())) },
    // Always there: the status it hears is what decides.
    observer: {
      responded: (status: number, contentType: string | null) => {
        if (status === 400) state = "holding";
        later(() => observer?.responded?.(status, contentType));
      },
      chunk: (chunk: Uint8Array) => (state === "passing" ? observer?.chunk?.(chunk) : later(() => observer?.chunk?.(chunk))),
      settled: (outcome: "completed" | "failed" | "cancelled") => later(() => observer?.settled?.(outcome)),
    } satisfies ForwardObserver,
    /** What was held happens now, and the rest as it comes. */
    pass() {
      state = "passing";
      for (const call of held.splice(0)) call();
    },
    /** The attempt never happened, as far as the lease and the observer know. */
    drop() {
      state = "dropped";
      held.length = 0;
    },
  };
}
