/**
 * `modelgate create` and `modelgate import-ollama`, the real binary against
 * the real gateway process: exit codes (0 success, 1 failure, 2 usage),
 * help, the message when no server runs, and models that then answer on
 * llama-server.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Ollama } from "ollama";
import { ensureFixtureModels, type FixtureModels } from "../../fixtures/generate.ts";
import { sha256Digest } from "../../src/models/store/digest.ts";
import { writeOllamaModelsDir } from "../models/support/ollama-models-dir.ts";
import { startGateway, type GatewayProcess } from "../support/gateway.ts";
import { freePort } from "../support/registry.ts";
import { cleanEnv, runCli } from "./support/run-cli.ts";

describe("modelgate create and import-ollama", () => {
  let fixtures: FixtureModels;
  let gateway: GatewayProcess;
  let ollama: Ollama;
  let scratch: string;

  before(async () => {
    fixtures = await ensureFixtureModels();
    scratch = await mkdtemp(join(tmpdir(), "modelgate-cli-"));
    gateway = await startGateway();
    ollama = new Ollama({ host: gateway.url });
  });

  after(async () => {
    await gateway?.stop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  const withServer = () => cleanEnv({ MODELGATE_HOST: gateway.url });
  const names = async () => (await ollama.list()).models.map((model) => model.name);
  const generates = async (model: string) => {
    const reply = await ollama.generate({ model, prompt: "Hello", options: { num_predict: 5 } });
    return reply.done && reply.eval_count > 0;
  };

  it("--help prints each command's usage and exits 0", async () => {
    for (const command of ["create", "import-ollama"]) {
      const run = await runCli([command, "--help"], cleanEnv());
      assert.equal(run.code, 0);
      assert.match(run.stdout, new RegExp(`^Usage: modelgate ${command}`));
    }
    const top = await runCli(["--help"], cleanEnv());
    assert.equal(top.code, 0);
    assert.match(top.stdout, /create .*\n.*import-ollama/);
  });

  it("bad arguments are usage errors: exit 2 with the usage", async () => {
    for (const args of [["create"], ["create", "x"], ["create", "a", "b", "-f", "x.gguf"], ["create", "x", "-f"], ["create", "x", "-f", "x.gguf", "--bogus"], ["import-ollama", "a", "b"]]) {
      const run = await runCli(args, withServer());
      assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, new RegExp(`^modelgate ${args[0]}: .+\\n\\nUsage: modelgate ${args[0]}`), args.join(" "));
    }
    const unknown = await runCli(["frobnicate"], cleanEnv());
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
  });

  it("create says clearly when no server runs at MODELGATE_HOST or OLLAMA_HOST", async () => {
    const port = await freePort();
    for (const variable of ["MODELGATE_HOST", "OLLAMA_HOST"]) {
      const run = await runCli(["create", "x", "-f", fixtures.chat], cleanEnv({ [variable]: `127.0.0.1:${port}` }));
      assert.equal(run.code, 1, variable);
      assert.match(run.stderr, new RegExp(`modelgate is not running at http://127\\.0\\.0\\.1:${port}; start it with \`modelgate serve\``), variable);
    }
  });

  it("create uploads the GGUF file with progress, creates the model, and it generates", async () => {
    await ollama.delete({ model: "tiny-tools" }); // the demo model held these very bytes: this upload is a real one
    const run = await runCli(["create", "cli-tools", "-f", fixtures.tools], withServer());
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trim().split("\n");
    assert.match(lines[0]!, /^hashing /);
    assert.ok(lines.some((line) => /^uploading [0-9a-f]{12} 100% \(\d+\.\d\/\d+\.\d MB\)$/.test(line)), run.stdout);
    assert.deepEqual(lines.slice(-2), ["creating model", "success"]);
    assert.ok((await names()).includes("cli-tools:latest"));
    assert.ok(await generates("cli-tools"));

    const again = await runCli(["create", "cli-tools-2", "-f", fixtures.tools], withServer());
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^using existing blob [0-9a-f]{12}$/m);
  });

  it("create refuses a file that is not GGUF with the parser's reason: exit 1, nothing listed, the blob kept for a retry (as Ollama)", async () => {
    const file = join(scratch, "bad.gguf");
    const bytes = "definitely not a GGUF file";
    await writeFile(file, bytes);
    const before = await names();
    const run = await runCli(["create", "bad", "-f", file], withServer());
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^modelgate create: GGUF parse error/);
    assert.deepEqual(await names(), before);
    assert.equal((await fetch(`${gateway.url}/api/blobs/${sha256Digest(bytes)}`, { method: "HEAD" })).status, 200);

    const missing = await runCli(["create", "bad", "-f", join(scratch, "missing.gguf")], withServer());
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read .*missing\.gguf/);
  });

  it("show --modelfile round-trips through create -f: the copy has the same system, parameters, messages, license and template", async () => {
    const request = {
      model: "styled",
      from: "tiny",
      system: "Answer \"briefly\".\nAlways.",
      template: "{{ range .Messages }}<{{ .Role }}>{{ .Content }}{{ end }}<assistant>",
      parameters: { num_predict: 4, stop: ["<user>", "<system>"], temperature: 0.2 },
      messages: [{ role: "user", content: "Seed" }, { role: "assistant", content: "Seeded." }],
      license: "License text",
    };
    assert.equal((await fetch(`${gateway.url}/api/create`, { method: "POST", body: JSON.stringify({ ...request, stream: false }) })).status, 200);
    const shown = await runCli(["show", "styled", "--modelfile"], withServer());
    assert.equal(shown.code, 0, shown.stderr);
    const file = join(scratch, "Modelfile");
    await writeFile(file, shown.stdout);
    const created = await runCli(["create", "styled-copy", "-f", file], withServer());
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^using existing blob [0-9a-f]{12}$/m);
    const fields = ({ system, template, parameters, messages, license }: Record<string, unknown>) => ({ system, template, parameters, messages, license });
    const [original, copy] = await Promise.all([ollama.show({ model: "styled" }), ollama.show({ model: "styled-copy" })]);
    assert.deepEqual(fields(copy as unknown as Record<string, unknown>), fields(original as unknown as Record<string, unknown>));
    assert.equal((original as unknown as { system: string }).system, request.system);
  });

  it("import-ollama brings an Ollama directory (OLLAMA_MODELS by default) into the running server's store; skipped models say why", async () => {
    const dir = join(scratch, "ollama-models");
    await writeOllamaModelsDir(dir, { weights: fixtures.chat, model: "ollama-tiny", family: "llama" });
    // DIR defaults to OLLAMA_MODELS, as Ollama itself reads it.
    const run = await runCli(["import-ollama"], cleanEnv({ MODELGATE_HOME: gateway.home, OLLAMA_MODELS: dir }));
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^importing ollama-tiny:latest$/m);
    assert.match(run.stdout, /^imported .*ollama-tiny:latest/m);
    assert.match(run.stderr, /^skipped registry\.ollama\.ai\/library\/broken\/latest: /m);
    assert.ok((await names()).includes("ollama-tiny:latest"), "the running gateway lists it at once");
    assert.ok(await generates("ollama-tiny"));

    const absent = await runCli(["import-ollama", join(scratch, "no-such-dir")], cleanEnv({ MODELGATE_HOME: gateway.home }));
    assert.equal(absent.code, 1);
    assert.match(absent.stderr, /no-such-dir is not a directory/);
  });
});
