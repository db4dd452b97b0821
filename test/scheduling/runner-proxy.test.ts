import assert from "node:assert/strict";
import { it } from "node:test";
import { Agent } from "undici";
import type { ResolvedModel } from "../../src/models/model-resolver.ts";
import type { Lease } from "../../src/scheduling/loader.ts";
import { toOpenAIError } from "../../src/scheduling/openai-error.ts";
import { MisdirectedRequestError, forwardToRunner } from "../../src/scheduling/runner-proxy.ts";

const model = (name: string, id: string) => ({ name, id }) as ResolvedModel;

it("answers 421 when a request reaches a runner serving another model, and releases the lease", async () => {
  let released = 0;
  const lease = {
    model: model("tiny:latest", "sha256:aaa"),
    requested: model("other:latest", "sha256:bbb"),
    dispatcher: new Agent(),
    release: () => void released++,
  } as unknown as Lease;
  const error = await forwardToRunner(lease, {
    method: "POST",
    path: "/v1/chat/completions",
    headers: new Headers(),
    body: null,
    signal: new AbortController().signal,
  }).catch((caught: unknown) => caught);
  assert.ok(error instanceof MisdirectedRequestError);
  assert.match(error.message, /serves tiny:latest, not other:latest/);
  assert.equal(toOpenAIError(error).status, 421);
  assert.equal(released, 1);
});
