/**
 * The model commands, the real binary against the real gateway process and
 * a real OCI registry (Debian's docker-registry): push, rm, pull with
 * progress (plain lines in a pipe, a bar in a terminal), ls, show, cp, ps
 * and stop around a real runner; usage errors and a missing server.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { useGateway } from "../support/gateway.ts";
import { freePort, requireRegistry, startRegistry, type TestRegistry } from "../support/registry.ts";
import { cleanEnv, runCli, runInTerminal } from "./support/run-cli.ts";

describe("modelgate model commands", () => {
  const fixture = useGateway();
  let registry: TestRegistry;
  before(async () => {
    await requireRegistry();
    registry = await startRegistry();
  });
  after(() => registry?.stop());

  const env = () => cleanEnv({ MODELGATE_HOST: fixture.gateway.url });
  const cli = async (...args: string[]) => {
    const run = await runCli(args, env());
    assert.equal(run.code, 0, `${args.join(" ")}: ${run.stderr}`);
    return run.stdout;
  };
  const names = async () => (await fixture.ollama.list()).models.map((model) => model.name);
  const rows = (table: string) => table.trimEnd().split("\n").map((line) => line.split(/\s{2,}/));

  it("ls prints ollama's table: NAME ID SIZE MODIFIED, the ID being the digest's first 12 hex digits", async () => {
    const [header, ...lines] = rows(await cli("ls"));
    assert.deepEqual(header, ["NAME", "ID", "SIZE", "MODIFIED"]);
    const listed = (await fixture.ollama.list()).models;
    assert.deepEqual(lines.map(([name]) => name).sort(), listed.map((model) => model.name).sort());
    const tiny = lines.find(([name]) => name === "tiny:latest")!;
    const expected = listed.find((model) => model.name === "tiny:latest")!;
    assert.equal(tiny[1], expected.digest.slice(0, 12));
    assert.equal(tiny[2], `${Math.floor(expected.size / 1e6)} MB`);
    assert.match(tiny[3]!, /ago$/);
    const list = rows(await cli("list"));
    assert.deepEqual(list.map((row) => row.slice(0, 3)), [header, ...lines].map((row) => row.slice(0, 3)), "list is ls");
  });

  it("show prints the model's facts and capabilities; --template only the template", async () => {
    const shown = await cli("show", "tiny");
    assert.match(shown, /^ {2}Model\n {4}architecture {8}llama\n {4}parameters {10}\d/);
    assert.match(shown, /^ {4}context length {6}\d+$/m);
    assert.match(shown, /^ {2}Capabilities\n {4}completion$/m);
    const { template } = await fixture.ollama.show({ model: "tiny" });
    assert.equal(await cli("show", "tiny", "--template"), `${template}\n`);
  });

  it("cp names a model twice, push sends it with progress lines, rm deletes names, pull (or run) brings it back with progress", async () => {
    const remote = `${registry.host}/library/cli-tiny:v1`;
    assert.equal(await cli("cp", "tiny", remote), `copied 'tiny' to '${remote}'\n`);
    assert.ok((await names()).includes(remote));

    const pushed = (await cli("push", remote, "--insecure")).trim().split("\n");
    assert.ok(pushed.some((line) => /^pushing [0-9a-f]{12} 100% \(\d+\.\d\/\d+\.\d MB\)$/.test(line)), pushed.join("\n"));
    assert.deepEqual(pushed.slice(-2), ["pushing manifest", "success"]);

    assert.equal(await cli("rm", remote), `deleted '${remote}'\n`);
    assert.ok(!(await names()).includes(remote));

    const pulled = (await cli("pull", remote, "--insecure")).trim().split("\n");
    assert.equal(pulled[0], "pulling manifest");
    assert.ok(pulled.some((line) => /^pulling [0-9a-f]{12} 100% \(\d+\.\d\/\d+\.\d MB\)$/.test(line)), pulled.join("\n"));
    assert.equal(pulled.at(-1), "success");
    assert.ok((await names()).includes(remote));

    // In a terminal: one bar per blob, redrawn in place, with sizes.
    await cli("rm", remote);
    const terminal = runInTerminal(["pull", remote, "--insecure"], env());
    assert.equal(await terminal.exited, 0, terminal.output());
    assert.match(terminal.output(), /pulling [0-9a-f]{12}: 100% ▕█+▏ \d+ MB\/\d+ MB/);
    assert.match(terminal.output(), /\nsuccess\n$/);
    assert.ok((await names()).includes(remote));

    // As `ollama run`: a model the server lacks is pulled first, then it answers.
    await cli("rm", remote);
    const ran = await cli("run", remote, "Hello", "--insecure", "-p", "num_predict=2");
    const [first, ...rest] = ran.trimEnd().split("\n");
    assert.equal(first, "pulling manifest");
    const answer = rest.slice(rest.indexOf("success") + 1).join("\n");
    assert.ok(rest.includes("success") && answer.length > 0, ran);
    assert.ok((await names()).includes(remote));
    await cli("stop", remote);
  });

  it("ps shows a loaded model as ollama does; stop unloads it", async () => {
    await fixture.ollama.generate({ model: "tiny", prompt: "Hello", options: { num_predict: 1 } });
    const [header, ...lines] = rows(await cli("ps"));
    assert.deepEqual(header, ["NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL"]);
    // ollama-js 0.6.4 types no context_length: read /api/ps itself.
    const { models } = (await (await fetch(`${fixture.gateway.url}/api/ps`)).json()) as { models: { digest: string; context_length: number }[] };
    const [loaded] = models;
    assert.equal(lines.length, 1);
    const [name, id, size, processor, context, until] = lines[0]!;
    assert.equal(name, "tiny:latest");
    assert.equal(id, loaded!.digest.slice(0, 12));
    assert.match(size!, /^\d+(\.\d)? [KMG]B$/);
    assert.equal(processor, "100% CPU");
    assert.equal(context, String(loaded!.context_length));
    assert.match(until!, /from now$/);

    assert.equal(await cli("stop", "tiny"), "");
    assert.deepEqual((await fixture.ollama.ps()).models, []);
  });

  it("rm of a model that does not exist fails with the server's message (exit 1)", async () => {
    const run = await runCli(["rm", "no-such-model"], env());
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^modelgate rm: .*not found/i);
  });

  it("bad arguments are usage errors: exit 2, the reason and the command's usage on stderr", async () => {
    const cases = [
      ["pull"], // missing argument
      ["pull", "a", "b"], // extra argument
      ["push", "--bogus", "x"], // unknown flag
      ["ps", "--all"],
      ["show", "tiny", "--template", "--license"],
      ["cp", "tiny"],
      ["rm"],
      ["run"],
      ["run", "tiny", "-p", "bogus=1"], // unknown parameter
      ["run", "tiny", "-p", "num_predict=many"], // a parameter of the wrong kind
      ["logs", "-n", "x"],
      ["engines", "frobnicate"],
    ];
    const runs = await Promise.all(cases.map((args) => runCli(args, env())));
    runs.forEach((run, index) => {
      const args = cases[index]!;
      assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, new RegExp(`^modelgate ${args[0]}: .+\\n\\nUsage: modelgate ${args[0]}`), args.join(" "));
      assert.equal(run.stdout, "", args.join(" "));
    });
    const unknown = await runCli(["frobnicate"], env());
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^modelgate: unknown command "frobnicate"\n\nUsage: modelgate <command>/);
  });

  it("--help works on every command and at the top (exit 0)", async () => {
    const commands = ["serve", "run", "pull", "push", "ls", "list", "ps", "show", "cp", "rm", "stop", "create", "import-ollama", "logs", "engines", "version"];
    const runs = await Promise.all(commands.map((command) => runCli([command, "--help"], cleanEnv())));
    runs.forEach((run, index) => {
      assert.equal(run.code, 0, commands[index]);
      assert.match(run.stdout, new RegExp(`^Usage: modelgate ${commands[index] === "list" ? "ls" : commands[index]}\\b`));
    });
    const top = await runCli(["--help"], cleanEnv());
    assert.equal(top.code, 0);
    for (const command of commands.filter((command) => command !== "list")) assert.match(top.stdout, new RegExp(`^  ${command} +\\S`, "m"));
  });

  it("the commands say clearly that no server runs there (exit 1)", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const commands = [["ls"], ["pull", "tiny"], ["show", "tiny"], ["rm", "a"], ["run", "tiny", "hi"], ["logs", "-f"], ["engines", "install"]];
    const runs = await Promise.all(commands.map((args) => runCli(args, cleanEnv({ OLLAMA_HOST: url }))));
    runs.forEach((run, index) => {
      const args = commands[index]!;
      assert.equal(run.code, 1, args.join(" "));
      assert.equal(run.stderr, `modelgate ${args[0]}: modelgate is not running at ${url}; start it with \`modelgate serve\`\n`);
    });
  });
});
