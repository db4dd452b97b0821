import { readdirSync, readFileSync } from "node:fs";

/**
 * Nanoseconds of CPU a process has run, all its threads together (Node's
 * helper threads and garbage collector included): the sum of each thread's
 * `/proc/<pid>/task/<tid>/schedstat` run time, which the kernel keeps in
 * nanoseconds where `/proc/<pid>/stat`'s utime+stime count 10 ms ticks. A
 * thread that exits takes its time with it; the processes measured here keep
 * theirs.
 *
 * @throws Error when the process is gone
 */
export function processCpuNs(pid: number): number {
  let total = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return total;
}

/**
 * Nanoseconds of CPU a process's main thread has run (its JavaScript, and the
 * system calls it makes): the rest of `processCpuNs` is Node's helper threads
 * (garbage collection, compilation, libuv's pool).
 *
 * @throws Error when the process is gone
 */
export function mainThreadCpuNs(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, "utf8").split(" ")[0]);
}

/**
 * The read and write system calls a process has made (`/proc/<pid>/io`:
 * `syscr`, `syscw`; `writev` on a socket counts as a write). On loopback a
 * socket write also runs the receiver's side of TCP, so how many a proxy
 * makes per token weighs more in its CPU time than anything it computes.
 *
 * @throws Error when the process is gone
 */
export function processSyscalls(pid: number): { reads: number; writes: number } {
  const fields = new Map(readFileSync(`/proc/${pid}/io`, "utf8").split("\n").map((line) => line.split(": ") as [string, string]));
  return { reads: Number(fields.get("syscr")), writes: Number(fields.get("syscw")) };
}
