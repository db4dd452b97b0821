/**
 * The vLLM backend end to end: the real gateway with VLLM_SERVER_PATH on the
 * stand-in in ./stand-in/vllm (NOT vLLM: it speaks vLLM's command line and
 * protocol, see its header), a safetensors model created through Ollama's
 * API, driven by the real `openai` and `ollama` clients.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import OpenAI, { APIError } from "openai";
import { LoadDurationHeader } from "../../../src/inference/index.ts";
import { useGateway } from "../../support/gateway.ts";
import { isProcessRunning } from "../../support/processes.ts";
import { createSafetensorsModel, safetensorsFiles } from "./safetensors-fixture.ts";

const standIn = new URL("./stand-in/vllm", import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), "modelgate-vllm-"));
const argvFile = join(scratch, "argv.jsonl");
const delayMs = 1500;
const crashPrompt = "please crash now";
after(() => rm(scratch, { recursive: true, force: true }));

const fixture = useGateway({
  env: { VLLM_SERVER_PATH: standIn, VLLM_STAND_IN_ARGV_FILE: argvFile, VLLM_STAND_IN_DELAY_MS: String(delayMs), VLLM_STAND_IN_CRASH_PROMPT: crashPrompt },
});

interface Start {
  readonly pid: number;
  readonly argv: string[];
}

async function starts(): Promise<Start[]> {
  const text = await readFile(argvFile, "utf8").catch(() => "");
  return text.split("\n").filter(Boolean).map((line) => JSON.parse(line) as Start);
}

const openai = () => new OpenAI({ baseURL: `${fixture.gateway.url}/engines/vllm/v1`, apiKey: "unused", maxRetries: 0 });

async function modelId(name: string): Promise<string> {
  const body = (await (await fetch(`${fixture.gateway.url}/engines/v1/models/${name}`)).json()) as { digest: string };
  return body.digest;
}

async function runnerSockets(): Promise<string[]> {
  return (await readdir(join(fixture.gateway.home, "runners"))).filter((name) => name.endsWith(".sock"));
}

describe("vLLM backend against the stand-in", { timeout: 120_000 }, () => {
  it("imports a safetensors directory through /api/create and describes it", async () => {
    await createSafetensorsModel(fixture.gateway.url, fixture.ollama, "st", safetensorsFiles());
    const model = (await (await fetch(`${fixture.gateway.url}/models/st`)).json()) as { config: { format: string; parameters: string; architecture: string } };
    assert.deepEqual(
      { format: model.config.format, parameters: model.config.parameters, architecture: model.config.architecture },
      { format: "safetensors", parameters: "8", architecture: "llama" },
    );
    const listed = (await (await fetch(`${fixture.gateway.url}/engines/v1/models/st`)).json()) as { context_length: number };
    assert.equal(listed.context_length, 256);
  });

  it("refuses to create from safetensors files without config.json, storing nothing under the name", async () => {
    const weights = safetensorsFiles()["model.safetensors"]!;
    const digest = `sha256:${createHash("sha256").update(weights).digest("hex")}`;
    await assert.rejects(fixture.ollama.create({ ...{ model: "no-config", files: { "model.safetensors": digest } }, stream: false }), /config\.json/);
    assert.equal((await fetch(`${fixture.gateway.url}/models/no-config`)).status, 404);
  });

  it("refuses a GGUF model on /engines/vllm with a 400 naming why, starting nothing", async () => {
    const before = (await starts()).length;
    const response = await fetch(`${fixture.gateway.url}/engines/vllm/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ model: "tiny", messages: [{ role: "user", content: "hi" }] }),
    });
    assert.equal(response.status, 400);
    const { error } = (await response.json()) as { error: { message: string; code: string } };
    assert.equal(error.message, "vllm serves safetensors models; tiny:latest is GGUF");
    assert.equal(error.code, "unsupported_model_format");
    assert.equal((await starts()).length, before);
  });

  it("streams a chat with the openai client once the engine binds its socket, with the exact vllm serve command line", async () => {
    const { data: stream, response } = await openai()
      .chat.completions.create({ model: "st", messages: [{ role: "user", content: "hello" }], stream: true, max_tokens: 4 })
      .withResponse();
    // The stand-in binds its socket only after the delay: no answer can come before.
    assert.ok(Number(response.headers.get(LoadDurationHeader)) >= delayMs, `loaded in ${response.headers.get(LoadDurationHeader)} ms`);
    let text = "";
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(text.trim().split(/\s+/).length, 4);
    assert.equal(finish, "length");

    const [start] = await starts();
    const id = await modelId("st");
    const socket = start!.argv[3]!;
    assert.deepEqual(start!.argv, [
      "serve",
      join(fixture.gateway.home, "models", "bundles", id.slice("sha256:".length)),
      "--uds",
      socket,
      // vLLM 0.12+ fits the context to the KV cache (PR #29431); the share is always explicit (vllm/config/cache.py).
      "--max-model-len",
      "auto",
      "--gpu-memory-utilization",
      "0.9",
      // A llama config: Llama 3's JSON tool calls (vLLM docs/features/tool_calling.md).
      "--enable-auto-tool-choice",
      "--tool-call-parser",
      "llama3_json",
      "--served-model-name",
      "st:latest",
      id,
    ]);
    assert.match(socket, new RegExp(`^${join(fixture.gateway.home, "runners")}/inference-runner-\\d+\\.sock$`));
    assert.deepEqual((await readdir(start!.argv[1]!)).sort(), ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]);
  });

  it("serves Ollama's /api/chat through the same runner, under another name of the model", async () => {
    const before = (await starts()).length;
    let content = "";
    let last: { done: boolean; done_reason?: string; eval_count?: number } | undefined;
    for await (const part of await fixture.ollama.chat({ model: "st:latest", messages: [{ role: "user", content: "hi" }], stream: true, options: { num_predict: 3 } })) {
      content += part.message.content;
      last = part;
    }
    assert.equal(content.trim().split(/\s+/).length, 3);
    assert.equal(last?.done, true);
    assert.equal(last?.eval_count, 3);
    assert.equal((await starts()).length, before, "the running engine served it");
  });

  it("refuses bad vLLM settings with 400s that start nothing", async () => {
    const before = (await starts()).length;
    const configure = (body: object) =>
      fetch(`${fixture.gateway.url}/engines/vllm/_configure`, { method: "POST", body: JSON.stringify({ model: "st", ...body }) });
    for (const bad of [
      { vllm: { "gpu-memory-utilization": 1.5 } },
      { vllm: { "gpu-memory-utilization": -0.1 } },
      // 0 < x ≤ 1 in vllm/config/cache.py: vLLM would refuse 0 with a pydantic error.
      { vllm: { "gpu-memory-utilization": 0 } },
      { vllm: { "tool-call-parser": "../plugin.py" } },
      // Removed from vLLM: argparse would refuse them (vllm/engine/arg_utils.py).
      { "runtime-flags": ["--swap-space", "4"] },
      { "runtime-flags": ["--disable-log-requests"] },
      { vllm: { "hf-overrides": { "bad-key": 1 } } },
      { vllm: { "hf-overrides": { rope_scaling: { factor: "x", "a.b": 2 } } } },
      { "runtime-flags": ["--max-num-seqs", "/etc/passwd"] },
      { "runtime-flags": ["--download-dir=models"] },
    ]) {
      const response = await configure(bad);
      assert.equal(response.status, 400, JSON.stringify(bad));
    }
    // Engine-neutral, yet off vLLM's allow-list.
    const refused = await configure({ "runtime-flags": ["--trust-remote-code"] });
    assert.equal(refused.status, 400);
    assert.match(((await refused.json()) as { error: { message: string } }).error.message, /--trust-remote-code is not allowed for vLLM/);
    assert.equal((await starts()).length, before);
  });

  it("embeds on the pooling runner", async () => {
    const result = await openai().embeddings.create({ model: "st", input: ["one", "two words"] });
    assert.equal(result.data.length, 2);
    assert.equal(result.data[0]!.embedding.length, 8);
    const pooling = (await starts()).filter((start) => start.argv.includes("pooling"));
    assert.equal(pooling.length, 1);
    assert.deepEqual(pooling[0]!.argv.slice(4, 6), ["--runner", "pooling"]);
  });

  it("reports a crash with the engine's stderr, then starts a fresh engine for the next request", async () => {
    const client = openai();
    await client.chat.completions.create({ model: "st", messages: [{ role: "user", content: "warm" }], max_tokens: 1 });
    const before = await starts();
    await assert.rejects(
      client.chat.completions.create({ model: "st", messages: [{ role: "user", content: crashPrompt }] }),
      (error: APIError) => {
        assert.equal(error.status, 500);
        assert.match(error.message, /vllm exited with code 1/);
        assert.match(error.message, /illegal memory access/);
        return true;
      },
    );
    const reply = await client.chat.completions.create({ model: "st", messages: [{ role: "user", content: "again" }], max_tokens: 2 });
    assert.equal(reply.choices[0]?.message.content?.trim().split(/\s+/).length, 2);
    const after = await starts();
    assert.equal(after.length, before.length + 1);
    const crashed = before.filter((start) => !start.argv.includes("pooling")).at(-1)!;
    assert.equal(await isProcessRunning(crashed.pid), false);
  });

  it("stops engines on unload and on shutdown, leaving no process or socket", async () => {
    const response = await fetch(`${fixture.gateway.url}/engines/unload`, { method: "POST", body: JSON.stringify({ backend: "vllm", models: ["st"] }) });
    assert.ok(((await response.json()) as { unloaded_runners: number }).unloaded_runners >= 1);
    for (const start of await starts()) assert.equal(await isProcessRunning(start.pid), false, `stand-in ${start.pid} still runs`);
    assert.deepEqual(await runnerSockets(), []);

    await openai().chat.completions.create({ model: "st", messages: [{ role: "user", content: "last" }], max_tokens: 1 });
    assert.equal((await runnerSockets()).length, 1);
    await fixture.gateway.stop();
    for (const start of await starts()) assert.equal(await isProcessRunning(start.pid), false, `stand-in ${start.pid} still runs`);
  });
});
