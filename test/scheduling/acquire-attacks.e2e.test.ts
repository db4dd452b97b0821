/**
 * The loader's acquire, attacked by clients (its lease of a ready runner
 * takes settled estimates without waiting, and listens for the client's
 * abort only while a demand waits): clients that leave at every moment of an
 * acquire, requests racing for a runner that is loading, and many distinct
 * context sizes. Nothing is left leased, and the next request is served.
 */
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, it } from "node:test";
import { eventually } from "../support/eventually.ts";
import { useGateway, type GatewayProcess } from "../support/gateway.ts";

const messages = [{ role: "user", content: "Say something." }];

interface RunnerView {
  model_name: string;
  loading: boolean;
  in_use: boolean;
}

const runners = async (gateway: GatewayProcess) => (await (await fetch(`${gateway.url}/engines/ps`)).json()) as RunnerView[];
const chat = (gateway: GatewayProcess, model: string, options: Record<string, unknown>, signal?: AbortSignal) =>
  fetch(`${gateway.url}/api/chat`, { method: "POST", body: JSON.stringify({ model, messages, stream: false, options: { num_predict: 2, ...options } }), signal }).then(
    async (response) => ({ status: response.status, body: (await response.json()) as { done?: boolean; error?: string } }),
  );

describe("acquire attacked by its clients (real gateway and engine)", () => {
  const served = useGateway();

  it("two requests racing for a runner that is loading are both served by it", { timeout: 120_000 }, async () => {
    const { gateway } = served;
    const [one, two] = await Promise.all([chat(gateway, "tiny", {}), chat(gateway, "tiny", {})]);
    assert.deepEqual([one.body.done, two.body.done], [true, true]);
    assert.equal((await runners(gateway)).filter((r) => r.model_name === "tiny:latest").length, 1, "one runner loaded for both");
  });

  it("clients leaving at every moment of an acquire (before, while loading, once granted) leave no lease behind", { timeout: 120_000 }, async () => {
    const { gateway } = served;
    const leaving = Array.from({ length: 24 }, async (_, i) => {
      const controller = new AbortController();
      const request = chat(gateway, "tiny-tools", {}, controller.signal);
      if (i === 0) controller.abort();
      else if (i === 1) queueMicrotask(() => controller.abort());
      else await sleep(i * 3).then(() => controller.abort());
      return request.then(
        ({ body }) => body.done === true,
        (error: Error) => (assert.equal(error.name, "AbortError"), false),
      );
    });
    await Promise.all(leaving);
    await eventually(async () => (await runners(gateway)).every((r) => !r.in_use && !r.loading), "every lease released", 60_000);
    const [tools, tiny] = await Promise.all([chat(gateway, "tiny-tools", {}), chat(gateway, "tiny", {})]);
    assert.deepEqual([tools.body.done, tiny.body.done], [true, true]);
  });

  it("many distinct num_ctx values are each served and share the runners they round to", { timeout: 120_000 }, async () => {
    const { gateway } = served;
    for (let i = 0; i < 40; i++) {
      const { status, body } = await chat(gateway, "tiny", { num_ctx: 300 + i });
      assert.equal(status, 200, body.error);
      assert.equal(body.done, true);
    }
    assert.ok((await runners(gateway)).filter((r) => r.model_name === "tiny:latest").length <= 2, "no runner per num_ctx");
  });
});
