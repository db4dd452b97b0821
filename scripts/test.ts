/**
 * `npm test`: prepares what the end-to-end tests need (the llama-server
 * engine, built once and cached; the generated tiny models), then runs every
 * `test/**\/*.test.ts` file with node's test runner. Preparing up front keeps
 * a 10-minute first build out of any single test's timeout.
 */
import { spawn } from "node:child_process";
import { readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { prepareTestEnvironment } from "../test/support/prepare.ts";

async function testFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith(".test.ts"))
    .map((entry) => relative(process.cwd(), join(entry.parentPath, entry.name)))
    .sort();
}

const filter = process.argv.slice(2);
const all = await testFiles("test");
const files = filter.length ? all.filter((file) => filter.some((f) => file.includes(f))) : all;
if (files.length === 0) {
  console.error(`no test files match ${filter.join(" ")}`);
  process.exit(2);
}

await prepareTestEnvironment();

const child = spawn(
  process.execPath,
  ["--import", "tsx", "--test", "--test-concurrency=1", "--test-timeout=300000", ...files],
  { stdio: "inherit" },
);
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
