/**
 * Error replies say what failed, not where the gateway keeps its files: a
 * model whose layer vanished from the store fails with the file system's
 * error, its path shown relative to `$MODELGATE_HOME`; the log keeps it whole.
 */
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { useGateway } from "../support/gateway.ts";

describe("error replies without absolute paths, through the real gateway", () => {
  const served = useGateway();

  it("a store file error reaches the client without the data directory's path, and the log with it", async () => {
    await served.ollama.list(); // the demo models are registered
    await served.ollama.create({ model: "vanishing", from: "tiny", system: "a system prompt only this model has" });
    const details = (await (await fetch(`${served.gateway.url}/models/vanishing`)).json()) as { manifest: { layers: { mediaType: string; digest: string }[] } };
    const system = details.manifest.layers.find((layer) => layer.mediaType.endsWith(".system"));
    assert.ok(system);
    await rm(join(served.gateway.home, "models", "blobs", "sha256", system.digest.slice("sha256:".length)));

    const response = await fetch(`${served.gateway.url}/models/vanishing`);
    const { error } = (await response.json()) as { error: string };
    assert.equal(response.status, 500);
    assert.match(error, /ENOENT/);
    assert.match(error, /\$MODELGATE_HOME\/models\/blobs\//);
    assert.ok(!error.includes(served.gateway.home), error);
    assert.ok(!error.includes(homedir()) || homedir() === "/", error);
    assert.ok(served.gateway.logs.some((entry) => JSON.stringify(entry).includes(join(served.gateway.home, "models", "blobs"))));
  });
});
