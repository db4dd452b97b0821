/**
 * Runs benches by name, each in a fresh Node process (so one bench's heap and
 * JIT state never colour another's figures), one after the other.
 *
 *   npm run bench                       the fast ones
 *   npm run bench -- engines ollama     those named
 *   npm run bench -- engines --requests 100 --cold 3   options go to every bench named
 *   npm run bench -- help               the list
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

interface Bench {
  readonly file: string;
  readonly args?: readonly string[];
  /** Part of the default run: seconds, not minutes. */
  readonly fast?: boolean;
  readonly about: string;
}

const benches: Record<string, Bench> = {
  translator: {
    file: "ollama-overhead.ts",
    args: ["--part", "translator"],
    fast: true,
    about: "the Ollama stream translator's cost per engine event (recorded streams)",
  },
  dialects: {
    file: "dialect-translators.ts",
    fast: true,
    about: "the Anthropic and Responses translations' CPU per request and per engine event, as their routes wire them (no sockets)",
  },
  engines: { file: "engines-overhead.ts", about: "gateway /engines vs llama-server on its socket: TTFT, total, throughput at 1/16/64, cold start" },
  ollama: { file: "ollama-overhead.ts", about: "the translator, then /api/chat vs /engines vs llama-server, interleaved" },
  hotpath: {
    file: "hotpath.ts",
    about: "CPU µs per token (stand-in engine) and TTFT/total at 1/16/64 (llama-server) on every path, against nginx and a bare node:http pipe (--profile <dir>)",
  },
  "engine-build": { file: "engine-build.ts", fast: true, about: "llama-server load time and memory estimate (--build: a full compile)" },
  pull: { file: "pull.ts", about: "registry pull vs curl, 1 GiB import time and peak RSS" },
  memory: { file: "memory.ts", about: "idle RSS and heap (npm start, the sources through tsx, bare Node), RSS per open /api/chat stream (--streams)" },
  load: { file: "load.ts", about: "soak: 256 clients on every front door for 10 minutes (--clients, --minutes): failures, RSS growth, event-loop delay" },
};

const argv = process.argv.slice(2);
const firstOption = argv.findIndex((arg) => arg.startsWith("-"));
const names = firstOption < 0 ? argv : argv.slice(0, firstOption);
const options = firstOption < 0 ? [] : argv.slice(firstOption);

if (names.includes("help") || names.some((name) => !(name in benches))) {
  const unknown = names.filter((name) => name !== "help" && !(name in benches));
  if (unknown.length) console.error(`unknown bench: ${unknown.join(", ")}\n`);
  console.error("npm run bench -- [name…] [options]; no name runs the fast ones (*)\n");
  for (const [name, bench] of Object.entries(benches)) console.error(`  ${bench.fast ? "*" : " "} ${name.padEnd(13)} ${bench.about}`);
  process.exit(unknown.length ? 2 : 0);
}

const chosen = names.length ? names : Object.keys(benches).filter((name) => benches[name]!.fast);
for (const name of chosen) {
  const bench = benches[name]!;
  const file = fileURLToPath(new URL(bench.file, import.meta.url));
  console.log(`\n## bench ${name}: ${bench.about}\n`);
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", file, ...(bench.args ?? []), ...options], { stdio: "inherit" });
    child.once("exit", (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0)));
  });
  if (code !== 0) {
    console.error(`bench ${name} failed (exit ${code})`);
    process.exit(code);
  }
}
