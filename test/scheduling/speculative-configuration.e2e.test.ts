/**
 * Speculative decoding configured through `/engines/_configure` on the real
 * gateway and llama-server: the engine's own report shows drafting, and the
 * configuration is still in force after a restart on the same home.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import OpenAI from "openai";
import { Agent, request } from "undici";
import { parsePrometheusText } from "../../src/scheduling/prometheus-text.ts";
import { runnerSocketPath } from "../../src/scheduling/runners-dir.ts";
import { startGateway, type GatewayProcess } from "../support/gateway.ts";

const numTokens = 4;
const speculative = { draft_model: "tiny-draft", num_tokens: numTokens };

/** llama-server's `timings` on a completion: `draft_n`/`draft_n_accepted` appear only for speculative runs. */
interface EngineTimings {
  readonly predicted_n: number;
  readonly draft_n?: number;
  readonly draft_n_accepted?: number;
}

interface Runner {
  readonly model_name: string;
  readonly draft_model: string | null;
  readonly slot: number;
}

async function getJson<T>(gateway: GatewayProcess, path: string): Promise<T> {
  const response = await fetch(`${gateway.url}${path}`);
  assert.equal(response.status, 200, `${path}: ${response.status}`);
  return (await response.json()) as T;
}

/** A short greedy chat through the OpenAI client; the engine's timings come through the gateway untouched. */
async function chat(gateway: GatewayProcess): Promise<EngineTimings> {
  const openai = new OpenAI({ baseURL: `${gateway.url}/engines/v1`, apiKey: "unused", maxRetries: 0 });
  const completion = await openai.chat.completions.create({
    model: "tiny",
    messages: [{ role: "user", content: "Say something." }],
    max_tokens: 16,
    temperature: 0,
  });
  return (completion as unknown as { timings: EngineTimings }).timings;
}

/** The runner's own Prometheus counters, read on its socket. */
async function runnerCounters(gateway: GatewayProcess, slot: number): Promise<Map<string, number>> {
  const agent = new Agent({ connect: { socketPath: runnerSocketPath(join(gateway.home, "runners"), slot) } });
  try {
    const { body } = await request("http://runner/metrics", { dispatcher: agent });
    const families = parsePrometheusText(await body.text());
    return new Map(families.flatMap((family) => family.samples.map((sample) => [sample.name, sample.value] as const)));
  } finally {
    await agent.close();
  }
}

/** Drafting happened, and within the configured number of tokens per draft. */
async function assertDrafted(gateway: GatewayProcess, timings: EngineTimings): Promise<void> {
  const drafted = timings.draft_n ?? 0;
  const accepted = timings.draft_n_accepted ?? -1;
  assert.ok(drafted > 0, `the engine drafted tokens: ${JSON.stringify(timings)}`);
  assert.ok(accepted >= 0 && accepted <= drafted, `accepted ${accepted} of ${drafted}`);
  const runners = await getJson<Runner[]>(gateway, "/engines/ps");
  assert.deepEqual(runners.map((r) => [r.model_name, r.draft_model]), [["tiny:latest", "tiny-draft:latest"]]);
  const counters = await runnerCounters(gateway, runners[0]!.slot);
  const drafts = counters.get("llamacpp:spec_decode_num_drafts_total") ?? 0;
  assert.equal(counters.get("llamacpp:spec_decode_num_draft_tokens_total"), drafted);
  assert.ok(drafted <= drafts * numTokens, `${drafted} tokens in ${drafts} drafts of at most ${numTokens}`);
  console.log(`# drafted ${drafted}, accepted ${accepted}, in ${drafts} drafts, for ${timings.predicted_n} tokens`);
}

describe("speculative decoding through /engines/_configure, kept across a restart", () => {
  const homes: string[] = [];
  const gateways: GatewayProcess[] = [];
  after(async () => {
    await Promise.all(gateways.map((gateway) => gateway.stop()));
    await Promise.all(homes.map((home) => rm(home, { recursive: true, force: true })));
  });

  it("drafts with tiny-draft, shows the configuration, and still does after a restart", { timeout: 180_000 }, async () => {
    const home = await mkdtemp(join(tmpdir(), "modelgate-speculative-"));
    homes.push(home);
    const first = await startGateway({ home });
    gateways.push(first);

    const configured = await fetch(`${first.url}/engines/_configure`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "tiny", speculative }),
    });
    assert.deepEqual(await configured.json(), { model: "tiny", changed: true });
    const shown = await getJson<Record<string, unknown>>(first, "/engines/_configure?model=tiny");
    assert.deepEqual(shown.speculative, { ...speculative, min_acceptance_rate: null });
    assert.deepEqual(shown.stored, { speculative });
    await assertDrafted(first, await chat(first));
    await first.stop();

    const second = await startGateway({ home });
    gateways.push(second);
    assert.deepEqual(await getJson(second, "/engines/_configure?model=tiny"), shown, "the same configuration after the restart");
    await assertDrafted(second, await chat(second));
  });
});
