/**
 * Profiles the process it is preloaded into and writes V8 `.cpuprofile`
 * files into `BENCH_CPU_PROFILE_DIR`: from start to exit
 * (`<pid>.cpuprofile`), or, with `BENCH_CPU_PROFILE_ON_SIGNAL=1`, from one
 * SIGUSR2 to the next (`<pid>-<n>.cpuprofile`, n counting from 1), so that a
 * bench profiles one path at a time (`profileWhile`). Node refuses
 * `--cpu-prof` in NODE_OPTIONS, and the gateway is started by a helper that
 * takes no Node flags, so the bench passes
 * `NODE_OPTIONS="--import tsx --import <this file>"` instead.
 */
import { existsSync, renameSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const dir = process.env.BENCH_CPU_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  // 100 µs instead of 1 ms: requests here last milliseconds.
  session.post("Profiler.setSamplingInterval", { interval: 100 });
  // A session in the same thread answers synchronously, so each file is written before the next line runs.
  const stopInto = (file: string) =>
    session.post("Profiler.stop", (error, result) => {
      if (error) return;
      // Written aside, then renamed: a reader waiting for the file never sees half of it.
      writeFileSync(join(dir, `${file}.part`), JSON.stringify(result.profile));
      renameSync(join(dir, `${file}.part`), join(dir, file));
    });
  if (process.env.BENCH_CPU_PROFILE_ON_SIGNAL === "1") {
    let running = false;
    let written = 0;
    process.on("SIGUSR2", () => {
      if (running) stopInto(`${process.pid}-${++written}.cpuprofile`);
      else session.post("Profiler.start");
      running = !running;
    });
  } else {
    session.post("Profiler.start");
    process.once("exit", () => stopInto(`${process.pid}.cpuprofile`));
  }
}

/** The extra environment that profiles a Node process into `dir`, start to exit or (`onSignal`) between SIGUSR2s. */
export function cpuProfileEnvironment(dir: string, { onSignal = false } = {}): Record<string, string> {
  return {
    NODE_OPTIONS: `--import tsx --import ${import.meta.filename}`,
    BENCH_CPU_PROFILE_DIR: dir,
    ...(onSignal ? { BENCH_CPU_PROFILE_ON_SIGNAL: "1" } : {}),
  };
}

const profilesTaken = new Map<number, number>();

/**
 * Profiles process `pid` (started with `cpuProfileEnvironment(dir, { onSignal: true })`)
 * while `work` runs, and resolves with the profile's path once written.
 */
export async function profileWhile(pid: number, dir: string, work: () => Promise<void>): Promise<string> {
  process.kill(pid, "SIGUSR2");
  try {
    await work();
  } finally {
    process.kill(pid, "SIGUSR2");
  }
  const taken = (profilesTaken.get(pid) ?? 0) + 1;
  profilesTaken.set(pid, taken);
  const path = join(dir, `${pid}-${taken}.cpuprofile`);
  const deadline = performance.now() + 30_000;
  while (!existsSync(path)) {
    if (performance.now() > deadline) throw new Error(`process ${pid} wrote no profile ${path}`);
    await sleep(20);
  }
  return path;
}
