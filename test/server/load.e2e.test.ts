/**
 * 256 concurrent clients on the gateway process, mixed across the Ollama and
 * OpenAI front doors and two models, from cold: every stream arrives whole and
 * well-formed, none is lost, and no lease outlives its request. Memory and
 * event-loop delay are reported, never asserted as performance (the soak is
 * `npm run bench -- load`).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { useGateway } from "../support/gateway.ts";
import { assertRepliesAgree, gatewayHealth, loadClients, loadKinds, residentMemoryKiB, type LoadReply } from "../support/load-clients.ts";

const clients = 256;
const numPredict = 4;

/** Room in the queue for every client while the runners load (Ollama's default, 512, would do; the test says so itself). */
const served = useGateway({ env: { MODELGATE_MAX_QUEUE: String(2 * clients) } });

describe("the gateway under load", () => {
  it(`serves ${clients} concurrent clients on two models from cold, losing none`, { timeout: 240_000 }, async () => {
    const { url, child } = served.gateway;
    await gatewayHealth(url); // restarts the event-loop histogram
    const memoryBefore = await residentMemoryKiB(child.pid!);
    const client = loadClients(url, numPredict);
    const started = performance.now();

    const outcomes = await Promise.allSettled(
      Array.from({ length: clients }, async (_, index) => {
        const kind = loadKinds[index % loadKinds.length]!;
        return { kind, reply: await client.run(kind) };
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const failures = outcomes.flatMap((outcome) => (outcome.status === "rejected" ? [String(outcome.reason)] : []));
    assert.deepEqual(failures.slice(0, 3), [], `${failures.length} of ${clients} clients failed`);

    const replies = outcomes.flatMap((outcome) => (outcome.status === "fulfilled" ? [outcome.value] : []));
    for (const kind of loadKinds) {
      const [first, ...others] = replies.filter((reply) => reply.kind === kind).map((reply): LoadReply => reply.reply);
      for (const other of others) assertRepliesAgree(kind, first!, other);
    }

    const health = await gatewayHealth(url);
    assert.deepEqual(health.requests, { completed: clients }, "the engines layer completed every request, and only those");
    const ps = (await (await fetch(`${url}/engines/ps`)).json()) as { model_name: string; in_use: boolean }[];
    assert.deepEqual(ps.map((runner) => [runner.model_name, runner.in_use]).sort(), [["tiny-embed:latest", false], ["tiny:latest", false]]);

    const memoryAfter = await residentMemoryKiB(child.pid!);
    // A sanity bound only: keeping every response whole would pass it.
    assert.ok(memoryAfter.peak < 1024 * 1024, `peak RSS ${memoryAfter.peak} KiB`);
    const ms = (value: number) => `${(value * 1000).toFixed(1)} ms`;
    console.log(
      `${clients} clients (${loadKinds.join(", ")}) in ${seconds.toFixed(1)} s, ${failures.length} failed; ` +
        `gateway peak RSS ${(memoryBefore.peak / 1024).toFixed(0)} → ${(memoryAfter.peak / 1024).toFixed(0)} MiB; ` +
        `event-loop delay p50 ${ms(health.eventLoopDelay.p50)}, p99 ${ms(health.eventLoopDelay.p99)}, max ${ms(health.eventLoopDelay.max)}`,
    );
  });
});
