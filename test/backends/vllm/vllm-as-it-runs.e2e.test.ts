/**
 * vLLM as it really runs (issue 19), end to end: the real gateway against the
 * stricter stand-in in ./stand-in/vllm (NOT vLLM: it refuses unknown flags as
 * argparse does, validates as vLLM's pydantic configs do, logs to stdout,
 * answers vLLM's error shapes, claims a share of a pretend 24 GiB GPU that a
 * second process cannot get; see its header for the vLLM sources it copies).
 * A fake `nvidia-smi` on PATH reports the GPU's size to the memory budget.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { readdir, readFile, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import OpenAI, { APIError } from "openai";
import { useGateway, type GatewayFixture } from "../../support/gateway.ts";
import { isProcessRunning } from "../../support/processes.ts";
import { createSafetensorsModel, safetensorsFiles } from "./safetensors-fixture.ts";

/** What ollama-js throws for an error status. */
type ResponseError = Error & { readonly status_code?: number };

const standIn = new URL("./stand-in/vllm", import.meta.url).pathname;
const gpuMiB = 24576;

interface Start {
  readonly pid: number;
  readonly argv: string[];
}

interface Sent {
  readonly path: string;
  readonly body: string;
}

/** A scratch directory, a fake nvidia-smi, and the stand-in's files, for one gateway. */
function standInEnvironment(extra: Record<string, string> = {}) {
  const scratch = mkdtempSync(join(tmpdir(), "modelgate-vllm-real-"));
  after(() => rm(scratch, { recursive: true, force: true }));
  const bin = join(scratch, "bin");
  mkdirSync(bin);
  // Answers the memory queries only (src/scheduling/memory-budget.ts's): `-L` fails, so llama.cpp sees no GPU.
  writeFileSync(
    join(bin, "nvidia-smi"),
    `#!/bin/sh\ncase "$1" in --query-gpu=index,uuid,memory.total) echo "0, GPU-00000000-stand-in, ${gpuMiB}";; --query-gpu=memory.total) echo ${gpuMiB};; *) exit 1;; esac\n`,
  );
  chmodSync(join(bin, "nvidia-smi"), 0o755);
  const files = { argv: join(scratch, "argv.jsonl"), requests: join(scratch, "requests.jsonl"), gpu: join(scratch, "gpu.json") };
  const env = {
    PATH: `${bin}:${process.env.PATH ?? ""}`,
    VLLM_SERVER_PATH: standIn,
    VLLM_STAND_IN_ARGV_FILE: files.argv,
    VLLM_STAND_IN_REQUESTS_FILE: files.requests,
    VLLM_STAND_IN_GPU_FILE: files.gpu,
    VLLM_STAND_IN_GPU_MIB: String(gpuMiB),
    VLLM_STAND_IN_DELAY_MS: "300",
    // The cause, then a traceback longer than the 50-line tail the error keeps.
    VLLM_STAND_IN_TRACEBACK_LINES: "80",
    ...extra,
  };
  const jsonLines = async <T>(path: string): Promise<T[]> =>
    (await readFile(path, "utf8").catch(() => "")).split("\n").filter(Boolean).map((line) => JSON.parse(line) as T);
  return { env, starts: () => jsonLines<Start>(files.argv), sent: () => jsonLines<Sent>(files.requests) };
}

const valueOf = (argv: readonly string[], flag: string) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined);

async function configure(fixture: GatewayFixture, body: object): Promise<Response> {
  return fetch(`${fixture.gateway.url}/engines/vllm/_configure`, { method: "POST", body: JSON.stringify(body) });
}

async function runners(fixture: GatewayFixture): Promise<{ model_name: string; mode: string; context_size: number | null; vram: number; stopping: boolean }[]> {
  return (await (await fetch(`${fixture.gateway.url}/engines/ps`)).json()) as never;
}

const rejection = async (promise: Promise<unknown>): Promise<Error> => promise.then(() => assert.fail("resolved"), (error: Error) => error);

describe("vLLM as it runs, against the stricter stand-in (vLLM 0.14)", { timeout: 240_000 }, () => {
  const stand = standInEnvironment();
  const fixture = useGateway({ env: { ...stand.env, MODELGATE_LOAD_TIMEOUT: "3s" } });
  const openai = () => new OpenAI({ baseURL: `${fixture.gateway.url}/engines/vllm/v1`, apiKey: "unused", maxRetries: 0 });
  const lastStart = async (model: string) => (await stand.starts()).filter((start) => start.argv.includes(`${model}:latest`)).at(-1)!;

  it("creates the models: Qwen2.5-like (32k native), a family without a tool parser, a slow one, an embedder with 1_Pooling/, a draft", async () => {
    const { url } = fixture.gateway;
    await createSafetensorsModel(url, fixture.ollama, "st", safetensorsFiles());
    await createSafetensorsModel(url, fixture.ollama, "qw", safetensorsFiles({ model_type: "qwen2", architectures: ["Qwen2ForCausalLM"], max_position_embeddings: 32768, stand_in_kv_tokens: 8192 }));
    await createSafetensorsModel(url, fixture.ollama, "phi", safetensorsFiles({ model_type: "phi", architectures: ["PhiForCausalLM"] }));
    await createSafetensorsModel(url, fixture.ollama, "slow", safetensorsFiles({ stand_in_load_ms: 8000 }));
    await createSafetensorsModel(url, fixture.ollama, "draft", safetensorsFiles({ num_hidden_layers: 1, hidden_size: 4 }));
    // sentence-transformers keep their pooling one folder down (modules.json → 1_Pooling/config.json).
    const pooling = { "modules.json": Buffer.from(JSON.stringify([{ idx: 1, name: "1", path: "1_Pooling", type: "sentence_transformers.models.Pooling" }])), "1_Pooling/config.json": Buffer.from('{"pooling_mode_mean_tokens": true}') };
    await createSafetensorsModel(url, fixture.ollama, "emb", safetensorsFiles({ model_type: "bert", architectures: ["BertModel"], max_position_embeddings: 512 }, pooling));
  });

  it("item 7 (model directory): 1_Pooling/config.json reaches vLLM one folder down; a path climbing out is refused", async () => {
    const embedded = await fixture.ollama.embed({ model: "emb", input: "one two three" });
    assert.equal(embedded.embeddings[0]!.length, 8);
    const bundle = (await lastStart("emb")).argv[1]!;
    assert.deepEqual((await readdir(join(bundle, "1_Pooling"))).sort(), ["config.json"]);
    assert.match(await readlink(join(bundle, "1_Pooling", "config.json")), /blobs/);
    const evil = await rejection(createSafetensorsModel(fixture.gateway.url, fixture.ollama, "evil", safetensorsFiles({}, { "../escape.json": Buffer.from("{}") })));
    assert.equal((evil as ResponseError).status_code, 400);
    assert.match(evil.message, /file path must be relative/);
    assert.equal((await fetch(`${fixture.gateway.url}/models/evil`)).status, 404);
  });

  it("item 1 (context, vllm/config/model.py + v1/core/kv_cache_utils.py): no num_ctx fits the context with --max-model-len auto; num_ctx above native is clamped to max_position_embeddings; a context the KV cache cannot hold fails naming the cause", async () => {
    const reply = await fixture.ollama.chat({ model: "qw", messages: [{ role: "user", content: "hi" }], options: { num_predict: 2 } });
    assert.equal(reply.done, true);
    assert.equal(valueOf((await lastStart("qw")).argv, "--max-model-len"), "auto");
    const qw = (await runners(fixture)).find((runner) => runner.model_name === "qw:latest");
    assert.equal(qw?.context_size, 8192, "the stand-in fitted 32768 native tokens into its 8192-token KV cache");

    const error = await rejection(fixture.ollama.chat({ model: "qw", messages: [{ role: "user", content: "hi" }], options: { num_ctx: 65536, num_predict: 2 } }));
    assert.equal(valueOf((await lastStart("qw")).argv, "--max-model-len"), "32768", "65536 clamped to the native 32768");
    // The cause came before an 80-line traceback, out of the 50-line tail: still named.
    assert.match(error.message, /the context does not fit in the KV cache \(set a smaller context-size, or a larger gpu-memory-utilization\): ValueError: To serve at least one request with the model's max seq len \(32768\)/);
    assert.doesNotMatch(error.message, /\{"error"/);
    assert.equal((await configure(fixture, { model: "qw" })).status, 200, "back to the defaults");
  });

  it("item 2 (GPU share, vllm/v1/worker/gpu_worker.py): shares that fit run side by side; one that does not evicts the idle runner first, so no runner dies for want of free memory", async () => {
    await fetch(`${fixture.gateway.url}/engines/unload`, { method: "POST", body: JSON.stringify({ all: true }) });
    assert.equal((await configure(fixture, { model: "st", vllm: { "gpu-memory-utilization": 0.5 } })).status, 200);
    assert.equal((await configure(fixture, { model: "st", mode: "embedding", vllm: { "gpu-memory-utilization": 0.4 } })).status, 200);
    await openai().chat.completions.create({ model: "st", messages: [{ role: "user", content: "a" }], max_tokens: 1 });
    await openai().embeddings.create({ model: "st", input: "a" });
    const both = await runners(fixture);
    assert.deepEqual(both.filter((r) => r.model_name === "st:latest" && !r.stopping).map((r) => [r.mode, r.vram]).sort(), [
      ["completion", Math.ceil(0.5 * gpuMiB * 1024 * 1024)],
      ["embedding", Math.ceil(0.4 * gpuMiB * 1024 * 1024)],
    ]);
    const chatPid = (await lastStart("st")).pid;

    // The pooling runner back at vLLM's 0.9: 0.5 + 0.9 of the GPU cannot both be had.
    assert.equal((await configure(fixture, { model: "st", mode: "embedding" })).status, 200);
    const embedded = await openai().embeddings.create({ model: "st", input: "b" });
    assert.equal(embedded.data.length, 1);
    assert.equal(await isProcessRunning(chatPid), false, "the idle chat runner was stopped to free its share");
    assert.deepEqual((await runners(fixture)).filter((r) => !r.stopping).map((r) => r.mode), ["embedding"]);
    assert.equal((await configure(fixture, { model: "st" })).status, 200);
  });

  it("item 3 (tools, vllm/entrypoints/openai/serving_chat.py): the family's parser is on the command line; a family without one is refused in the dialect's words until _configure names one", async () => {
    const tools = [{ type: "function" as const, function: { name: "now", description: "the time", parameters: { type: "object", properties: {} } } }];
    const ok = await openai().chat.completions.create({ model: "st", messages: [{ role: "user", content: "time?" }], tools, max_tokens: 2 });
    assert.equal(ok.choices.length, 1);
    assert.equal(valueOf((await lastStart("st")).argv, "--tool-call-parser"), "llama3_json");

    const ollamaError = await rejection(fixture.ollama.chat({ model: "phi", messages: [{ role: "user", content: "time?" }], tools }));
    assert.equal((ollamaError as ResponseError).status_code, 400);
    assert.equal(ollamaError.message, '"phi:latest" does not support tools on vLLM: no tool-call parser is known for its family (set vllm.tool-call-parser through /engines/vllm/_configure)');
    const openaiError = (await rejection(openai().chat.completions.create({ model: "phi", messages: [{ role: "user", content: "x" }], tools }))) as APIError;
    assert.equal(openaiError.status, 400);
    assert.match(openaiError.message, /does not support tools on vLLM/);

    assert.equal((await configure(fixture, { model: "phi", vllm: { "tool-call-parser": "phi4_mini_json" } })).status, 200);
    const configured = await fixture.ollama.chat({ model: "phi", messages: [{ role: "user", content: "time?" }], tools, options: { num_predict: 2 } });
    assert.equal(configured.done, true);
    assert.deepEqual((await lastStart("phi")).argv.filter((arg) => /tool/.test(arg) || arg === "phi4_mini_json"), ["--enable-auto-tool-choice", "--tool-call-parser", "phi4_mini_json"]);
  });

  it("item 4 (errors, vllm/envs.py VLLM_LOGGING_STREAM): a load that only writes to stdout keeps its load timeout alive", async () => {
    // 8 s of loading against a 3 s load timeout: only the stdout progress lines keep it going.
    const reply = await fixture.ollama.generate({ model: "slow", prompt: "hi", options: { num_predict: 1 } });
    assert.equal(reply.done, true);
  });

  it("item 5 (dialects): truncate becomes truncate_prompt_tokens (no llama-server /tokenize), repeat_penalty becomes repetition_penalty, suffix is refused, vLLM's nested errors with integer codes and FastAPI's 404 read as such", async () => {
    const long = Array.from({ length: 300 }, (_, i) => `w${i}`).join(" ");
    const truncated = await fixture.ollama.embed({ model: "st", input: long, truncate: true });
    assert.equal(truncated.embeddings.length, 1);
    const embedBodies = (await stand.sent()).filter((sent) => sent.path === "/v1/embeddings").map((sent) => JSON.parse(sent.body) as Record<string, unknown>);
    assert.equal(embedBodies.at(-1)!.truncate_prompt_tokens, 256, "the runner's context (256 native tokens)");
    assert.equal("truncate" in embedBodies.at(-1)!, false);
    assert.equal((await stand.sent()).some((sent) => sent.path === "/tokenize"), false, "llama-server's /tokenize body is never sent to vLLM");
    const tooLong = await rejection(fixture.ollama.embed({ model: "st", input: long, truncate: false }));
    assert.equal((tooLong as ResponseError).status_code, 400);
    assert.equal(tooLong.message, "This model's maximum context length is 256 tokens. However, you requested 300 tokens in the input for embedding generation. Please reduce the length of the input.");

    await fixture.ollama.generate({ model: "st", prompt: "hi", options: { num_predict: 1, repeat_penalty: 1.3, typical_p: 0.5 } });
    const generated = JSON.parse((await stand.sent()).filter((sent) => sent.path === "/v1/chat/completions" || sent.path === "/v1/completions").at(-1)!.body) as Record<string, unknown>;
    assert.equal(generated.repetition_penalty, 1.3);
    assert.equal("repeat_penalty" in generated, false);
    assert.equal("typical_p" in generated, false);

    // serving_completion.py: "suffix is not currently supported"; refused before vLLM, in each dialect's words.
    const suffix = await rejection(fixture.ollama.generate({ model: "st", prompt: "def f(", suffix: "return 1" }));
    assert.equal((suffix as ResponseError).status_code, 400);
    assert.equal(suffix.message, "\"st\" does not support insert", "Ollama's words: the template has no suffix");
    const openaiSuffix = (await rejection(openai().completions.create({ model: "st", prompt: "def f(", suffix: "return 1", max_tokens: 2 }))) as APIError;
    assert.equal(openaiSuffix.status, 400);
    assert.match(openaiSuffix.message, /"st:latest" does not support insert on vLLM: vLLM refuses a suffix/);

    // vLLM ≥ 0.10.1: {"error": {"message", "type", "param", "code": 400}}: the sentence, not the JSON.
    const overflow = await rejection(fixture.ollama.chat({ model: "st", messages: [{ role: "user", content: "hi" }], options: { num_predict: 1000 } }));
    assert.equal((overflow as ResponseError).status_code, 400);
    assert.match(overflow.message, /^This model's maximum context length is 256 tokens\. However, you requested 1005 tokens/);

    // vLLM ≥ 0.11.1 serves Anthropic's route itself (vllm/entrypoints/anthropic/): passed through, not translated
    // (./anthropic-messages.e2e.test.ts has the versions before it).
    const messages = await fetch(`${fixture.gateway.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "st", max_tokens: 4, messages: [{ role: "user", content: "hi" }] }),
    });
    assert.equal(messages.status, 200);
    assert.equal(((await messages.json()) as { type: string }).type, "message");
    assert.equal((await stand.sent()).at(-1)?.path, "/v1/messages");
  });

  it("item 6 (versions, vllm/config/speculative.py): --speculative-config names its method", async () => {
    assert.equal((await configure(fixture, { model: "st", speculative: { draft_model: "draft", num_tokens: 3 } })).status, 200);
    await openai().chat.completions.create({ model: "st", messages: [{ role: "user", content: "a" }], max_tokens: 1 });
    const speculative = JSON.parse(valueOf((await lastStart("st")).argv, "--speculative-config")!) as Record<string, unknown>;
    assert.deepEqual({ method: speculative.method, tokens: speculative.num_speculative_tokens }, { method: "draft_model", tokens: 3 });
    assert.equal((await configure(fixture, { model: "st" })).status, 200);
  });
});

describe("vLLM as it runs, against the stand-in playing vLLM 0.10.0", { timeout: 120_000 }, () => {
  const stand = standInEnvironment({ VLLM_STAND_IN_VERSION: "0.10.0" });
  const fixture = useGateway({ env: stand.env });

  it("item 6 (versions): reads the version once, caps the context where --max-model-len auto is missing, refuses the pooling runner saying which release it needs, and reads the flat error shape of vLLM before 0.10.1", async () => {
    await createSafetensorsModel(fixture.gateway.url, fixture.ollama, "st", safetensorsFiles({ max_position_embeddings: 32768 }));
    const reply = await fixture.ollama.chat({ model: "st", messages: [{ role: "user", content: "hi" }], options: { num_predict: 2 } });
    assert.equal(reply.done, true);
    const [start] = await stand.starts();
    assert.equal(valueOf(start!.argv, "--max-model-len"), "8192");
    const status = (await (await fetch(`${fixture.gateway.url}/engines/status`)).json()) as Record<string, string>;
    assert.match(status.vllm!, /^vllm 0\.10\.0 at /);

    const pooling = await rejection(fixture.ollama.embed({ model: "st", input: "x" }));
    assert.match(pooling.message, /vLLM 0\.10\.0 is too old: --runner pooling needs vLLM 0\.10\.1 or later/);
    assert.equal((await stand.starts()).length, 1, "no pooling runner was started");

    const overflow = await rejection(fixture.ollama.chat({ model: "st", messages: [{ role: "user", content: "hi" }], options: { num_predict: 9000 } }));
    assert.equal((overflow as ResponseError).status_code, 400);
    assert.match(overflow.message, /^This model's maximum context length is 8192 tokens/);
  });
});
