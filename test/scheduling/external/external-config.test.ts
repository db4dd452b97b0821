import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parseExternalEngines, readExternalEngines } from "../../../src/scheduling/external/external-config.ts";

const engines = (...list: unknown[]) => JSON.stringify({ engines: list });

describe("external engines configuration", () => {
  it("reads replicas, key, allow-list, prefix and interval; a trailing /v1 or slash is the same URL", () => {
    const [engine] = parseExternalEngines(
      engines({
        name: "remote",
        urls: ["http://10.0.0.5:8000/v1/", "https://gpu.example:8443/engines"],
        api_key: "sk-123",
        models: ["qwen"],
        prefix: "gpu/",
        health_interval_seconds: 0.5,
      }),
      "test",
    );
    assert.deepEqual(engine, {
      name: "remote",
      urls: [
        { origin: "http://10.0.0.5:8000", basePath: "", href: "http://10.0.0.5:8000/v1" },
        { origin: "https://gpu.example:8443", basePath: "/engines", href: "https://gpu.example:8443/engines" },
      ],
      apiKey: "sk-123",
      models: ["qwen"],
      prefix: "gpu/",
      healthIntervalMs: 500,
    });
    const [minimal] = parseExternalEngines(engines({ name: "r", urls: ["http://h"] }), "test");
    assert.equal(minimal?.prefix, "");
    assert.equal(minimal?.healthIntervalMs, 5000);
  });

  it("names the source and the field at fault", () => {
    const cases: Array<[string, RegExp]> = [
      ["{", /^SRC: not JSON/],
      ["3", /^SRC: must be a JSON object$/],
      ["{}", /^SRC: engines: is required$/],
      [engines({ name: "r", urls: ["ftp://h"] }), /^SRC: engines\[0\]\.urls\[0\]: must be an http or https URL$/],
      [engines({ name: "r", urls: ["http://h", "nope"] }), /^SRC: engines\[0\]\.urls\[1\]: must be an absolute http or https URL$/],
      [engines({ name: "r", urls: ["http://user:pw@h"] }), /urls\[0\]: must not carry credentials/],
      [engines({ name: "r", urls: ["http://h", "http://h/"] }), /urls: must not repeat a URL/],
      [engines({ name: "r", urls: [] }), /urls: must name at least one URL/],
      [engines({ name: "r" }), /^SRC: engines\[0\]\.urls: is required$/],
      [engines({ name: "Remote", urls: ["http://h"] }), /engines\[0\]\.name: must be lowercase/],
      [engines({ name: "v1", urls: ["http://h"] }), /engines\[0\]\.name: is reserved/],
      [engines({ name: "r", urls: ["http://h"], api_key: "a\r\nX-Evil: 1" }), /engines\[0\]\.api_key: must be printable ASCII/],
      [engines({ name: "r", urls: ["http://h"], health_interval_seconds: 0 }), /health_interval_seconds/],
      [engines({ name: "r", urls: ["http://h"], url: "http://h" }), /^SRC: engines\[0\]\.url: is not a known field$/],
      [engines({ name: "r", urls: ["http://a"] }, { name: "r", urls: ["http://b"] }), /engines must have distinct names/],
    ];
    for (const [text, message] of cases) assert.throws(() => parseExternalEngines(text, "SRC"), { message }, text);
  });

  it("reads the home's engines.json if present, a named file that must exist, and the variable, together", async () => {
    const home = await mkdtemp(join(tmpdir(), "modelgate-external-"));
    try {
      assert.deepEqual(await readExternalEngines({}, home), [], "no file, no variable: none");
      await writeFile(join(home, "engines.json"), engines({ name: "from-file", urls: ["http://a"] }));
      const variable = engines({ name: "from-env", urls: ["http://b"] });
      const both = await readExternalEngines({ MODELGATE_EXTERNAL_ENGINES: variable }, home);
      assert.deepEqual(both.map((engine) => engine.name), ["from-file", "from-env"]);

      const named = join(home, "other.json");
      await assert.rejects(readExternalEngines({ MODELGATE_EXTERNAL_ENGINES_FILE: named }, home), /external engines file .*other\.json: ENOENT/);
      await writeFile(named, engines({ name: "from-env", urls: ["http://c"] }));
      await assert.rejects(
        readExternalEngines({ MODELGATE_EXTERNAL_ENGINES_FILE: named, MODELGATE_EXTERNAL_ENGINES: variable }, home),
        /external engine "from-env" is declared twice/,
      );
      await writeFile(named, engines({ name: "bad", urls: ["gopher://c"] }));
      await assert.rejects(readExternalEngines({ MODELGATE_EXTERNAL_ENGINES_FILE: named }, home), /other\.json: engines\[0\]\.urls\[0\]/);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
