/**
 * `modelgate run` (one-shot, from stdin, and the interactive chat in a
 * pseudo-terminal), `logs`, `version` and `engines`: the real binary
 * against the real gateway and its llama-server runners.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { modelgateVersion } from "../../src/server/version.ts";
import { eventually } from "../support/eventually.ts";
import { useGateway } from "../support/gateway.ts";
import { spawnTied } from "../support/processes.ts";
import { cleanEnv, cliBinary, runCli, runInTerminal } from "./support/run-cli.ts";

describe("modelgate run, logs, version and engines", () => {
  const fixture = useGateway();
  const env = () => cleanEnv({ MODELGATE_HOST: fixture.gateway.url });
  /** `--verbose` statistics, from stderr or a terminal. */
  const count = (output: string, what: "prompt eval" | "eval") => Number(new RegExp(`^${what} count: +(\\d+) token\\(s\\)$`, "m").exec(output)?.[1]);

  it("run MODEL PROMPT answers once, streamed, and exits 0", async () => {
    const run = await runCli(["run", "tiny", "Say hello", "-p", "num_predict=5", "--verbose"], env());
    assert.equal(run.code, 0, run.stderr);
    assert.ok(run.stdout.trim().length > 0 && run.stdout.endsWith("\n"), JSON.stringify(run.stdout));
    const evaluated = count(run.stderr, "eval");
    assert.ok(evaluated >= 1 && evaluated <= 5, run.stderr);

    // The request log has the line for it, with the tokens the reply reported: read off the gateway's stderr,
    // which may reach this process after the CLI's exit does.
    const logged = await eventually(
      async () => fixture.gateway.logs.find((entry) => entry.component === "http" && entry.path === "/api/chat" && entry.model === "tiny"),
      "a request log line for /api/chat",
    );
    assert.equal(logged.status, 200);
    assert.equal(logged.method, "POST");
    assert.equal(logged.completion_tokens, evaluated);
    assert.equal(logged.prompt_tokens, count(run.stderr, "prompt eval"));
    assert.equal(typeof logged.duration_ms, "number");
  });

  it("run reads the prompt from stdin, before any prompt arguments", async () => {
    const fromArgs = await runCli(["run", "tiny", "Say hello", "-p", "num_predict=2", "--verbose"], env());
    const fromStdin = await runCli(["run", "tiny", "-p", "num_predict=2", "--verbose"], env(), "Say hello\n");
    assert.equal(fromStdin.code, 0, fromStdin.stderr);
    assert.ok(fromStdin.stdout.trim().length > 0);
    assert.equal(count(fromStdin.stderr, "prompt eval"), count(fromArgs.stderr, "prompt eval"), "the same prompt");
    const both = await runCli(["run", "tiny", "and goodbye", "-p", "num_predict=2", "--verbose"], env(), "Say hello\n");
    assert.ok(count(both.stderr, "prompt eval") > count(fromArgs.stderr, "prompt eval"), both.stderr);

    const empty = await runCli(["run", "tiny"], env(), "");
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /nothing to answer/);
  });

  it("run opens a chat on a terminal: history across turns, /set parameter, multi-line input, /clear, /?, /bye", async () => {
    const chat = runInTerminal(["run", "tiny", "-p", "num_predict=3", "--verbose"], env());
    let seen = 0;
    /** Types a line, waits for the answer's statistics and the next prompt. */
    const turn = async (input: string) => {
      const from = seen;
      chat.type(input);
      const stats = await chat.waitFor(/prompt eval count: +(\d+)[\s\S]*eval count: +(\d+) token\(s\)[\s\S]*>>> /, from);
      seen = from + stats.index + stats[0].length;
      return { prompt: Number(stats[1]), evaluated: Number(stats[2]) };
    };
    const command = async (input: string, reply: RegExp) => {
      const from = seen;
      chat.type(input);
      const match = await chat.waitFor(new RegExp(`${reply.source}[\\s\\S]*>>> `), from);
      seen = from + match.index + match[0].length;
    };

    await chat.waitFor(/>>> /);
    seen = chat.output().length;
    const first = await turn("hello\n");
    assert.ok(first.evaluated <= 3);
    const second = await turn("hello\n");
    assert.ok(second.prompt > first.prompt, `the second turn carries the first: ${second.prompt} > ${first.prompt}`);

    await command("/set parameter num_predict 1\n", /Set parameter 'num_predict' to '1'/);
    await command("/set parameter bogus 1\n", /Error: unknown parameter "bogus"/);
    await command("/clear\n", /Cleared session context/);
    const afterClear = await turn("hello\n");
    assert.equal(afterClear.prompt, first.prompt, "nothing of the earlier turns is sent");
    assert.ok(afterClear.evaluated <= 1);

    await command("/clear\n", /Cleared session context/);
    const from = seen;
    chat.type('"""\nhello\n');
    await chat.waitFor(/\.\.\. /, from);
    const multiline = await turn('hello"""\n');
    assert.ok(multiline.prompt > first.prompt, "both lines were sent as one message");

    await command("/?\n", /\/set parameter NAME VALUE[\s\S]*\/bye/);
    await command("/nope\n", /Unknown command '\/nope'/);
    chat.type("/bye\n");
    assert.equal(await chat.exited, 0);
  });

  it("logs prints the gateway's lines and its runners' stderr; --model keeps one model's; -f follows", async () => {
    await fixture.ollama.generate({ model: "tiny", prompt: "Hello", options: { num_predict: 1 } });
    const all = await runCli(["logs"], env());
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /^\S+Z tiny:latest \(completion\) \| .*llama/m, "a runner's stderr line");
    assert.match(all.stdout, /^\S+Z INFO  POST \/api\/generate 200 .*model=tiny/m, "the gateway's request log");

    const runnerOnly = await runCli(["logs", "--model", "tiny", "-n", "5"], env());
    const lines = runnerOnly.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 5);
    assert.ok(lines.every((line) => / tiny:latest \(completion\) \| /.test(line)), runnerOnly.stdout);

    assert.equal((await fetch(`${fixture.gateway.url}/logs?tail=many`)).status, 400);

    // The buffered lines come first: once they are out, the follower hears new ones.
    const follower = await spawnTied(process.execPath, [cliBinary, "logs", "-f", "-n", "1"], { env: env(), stdio: ["ignore", "pipe", "inherit"] });
    let followed = "";
    const appeared = (pattern: RegExp) =>
      new Promise<void>((resolve, reject) => {
        const check = () => pattern.test(followed) && resolve();
        follower.stdout!.on("data", (chunk: Buffer) => {
          followed += chunk.toString();
          check();
        });
        follower.once("exit", (code) => reject(new Error(`logs -f exited with ${code}: ${followed}`)));
        check();
      });
    await appeared(/\n/);
    const probe = `/api/follow-probe-${process.pid}`;
    assert.equal((await fetch(fixture.gateway.url + probe)).status, 404);
    await appeared(new RegExp(`GET ${probe} 404`));
    follower.kill();
  });

  it("version prints the client's and the server's versions", async () => {
    const run = await runCli(["version"], env());
    assert.equal(run.code, 0, run.stderr);
    const { version } = await fixture.ollama.version();
    assert.equal(run.stdout, `modelgate version ${modelgateVersion}\nserver at ${fixture.gateway.url}: modelgate ${modelgateVersion}, Ollama API ${version}\n`);
    assert.equal((await runCli(["--version"], env())).stdout, run.stdout);
  });

  it("engines shows llama.cpp's state; engines install returns once it is installed", async () => {
    const status = (await (await fetch(`${fixture.gateway.url}/engines/status`)).json()) as Record<string, string>;
    const run = await runCli(["engines"], env());
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^ENGINE +STATUS\nllama\.cpp +llama-server /);
    const install = await runCli(["engines", "install"], env());
    assert.equal(install.code, 0, install.stderr);
    assert.match(install.stdout, /^llama\.cpp: llama-server \((prebuilt|source|path)[^)]*\) at .*; GPU devices: /m);
    assert.ok(status["llama.cpp"]);
  });
});

