/**
 * Random hex digits for ids (`resp_…`, `msg_…`), from a pool filled by the
 * system's cryptographic generator a few kilobytes at a time: one
 * `randomBytes` call costs microseconds (a system call), several per request,
 * while slicing the pool costs a fraction of one. `crypto.randomUUID` keeps
 * such a pool too.
 *
 * @example randomHex(12) // 24 hex digits
 */
import { randomFillSync } from "node:crypto";

const pool = Buffer.alloc(4096);
let used = pool.length;

/** `bytes` random bytes as hex digits (twice as many); `bytes` at most the pool's size. */
export function randomHex(bytes: number): string {
  if (used + bytes > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  const hex = pool.toString("hex", used, used + bytes);
  used += bytes;
  return hex;
}
