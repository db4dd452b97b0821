/**
 * Error replies say what failed, not where the gateway keeps its files: a
 * model whose layer vanished from the store fails with the file system's
 * error, its path shown relative to `$MODELGATE_HOME`; the log keeps it whole.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { rm } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { eventually } from "../support/eventually.ts";
import { useGateway } from "../support/gateway.ts";

describe("error replies without absolute paths, through the real gateway", () => {
  const served = useGateway();

  it("a store file error reaches the client without the data directory's path, and the log with it", async () => {
    await served.ollama.list(); // the demo models are registered
    const system = "a system prompt only this model has";
    await served.ollama.create({ model: "vanishing", from: "tiny", system });
    // The system layer holds the text as it is: its file is named by the text's sha256.
    await rm(join(served.gateway.home, "models", "blobs", "sha256", createHash("sha256").update(system).digest("hex")));

    const response = await fetch(`${served.gateway.url}/models/vanishing`);
    const { error } = (await response.json()) as { error: string };
    assert.equal(response.status, 500);
    assert.match(error, /ENOENT/);
    assert.match(error, /\$MODELGATE_HOME\/models\/blobs\//);
    assert.ok(!error.includes(served.gateway.home), error);
    assert.ok(!error.includes(homedir()) || homedir() === "/", error);
    const whole = join(served.gateway.home, "models", "blobs");
    await eventually(async () => served.gateway.logs.some((entry) => JSON.stringify(entry).includes(whole)), "the whole path in the log");
  });
});
