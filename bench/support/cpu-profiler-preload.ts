/**
 * Profiles the process it is preloaded into, from start to exit, and writes
 * `<dir>/<pid>.cpuprofile`. Node refuses `--cpu-prof` in NODE_OPTIONS, and
 * the gateway is started by a helper that takes no Node flags, so the bench
 * passes `NODE_OPTIONS="--import tsx --import <this file>"` with
 * `BENCH_CPU_PROFILE_DIR` instead.
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { join } from "node:path";

const dir = process.env.BENCH_CPU_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  // 100 µs instead of 1 ms: requests here last milliseconds.
  session.post("Profiler.setSamplingInterval", { interval: 100 });
  session.post("Profiler.start");
  process.once("exit", () => {
    // A session in the same thread answers synchronously, so this runs before exit.
    session.post("Profiler.stop", (error, result) => {
      if (!error) writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}

/** The gateway's extra environment that profiles it into `dir`. */
export function cpuProfileEnvironment(dir: string): Record<string, string> {
  return { NODE_OPTIONS: `--import tsx --import ${import.meta.filename}`, BENCH_CPU_PROFILE_DIR: dir };
}
