/** The CLI's formatting helpers: sizes and times as ollama prints them, tables, progress bars, parameters. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { humanBytes, humanDuration, humanTime, shortDuration } from "../../src/cli/human-format.ts";
import { setParameter } from "../../src/cli/model-parameters.ts";
import { progressBar } from "../../src/cli/progress-bar.ts";
import { progressView } from "../../src/cli/progress-lines.ts";
import { processor } from "../../src/cli/ps.ts";
import { table } from "../../src/cli/table.ts";
import { plainText } from "./support/run-cli.ts";

/** A stream that records what is written, a terminal or not. */
function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  const stream = { isTTY, columns: 100, write: (text: string) => (writes.push(text), true) } as unknown as NodeJS.WriteStream;
  return { stream, text: () => writes.join("") };
}

describe("CLI formatting", () => {
  it("sizes are decimal, one decimal below 10", () => {
    assert.deepEqual([512, 1000, 9_437_184, 44_000_000, 131_500_000, 4.7e9, 2e12].map(humanBytes), ["512 B", "1 KB", "9.4 MB", "44 MB", "131 MB", "4.7 GB", "2 TB"]);
  });

  it("durations and moments read as ollama's", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    assert.equal(humanDuration(400), "Less than a second");
    assert.equal(humanDuration(45_000), "45 seconds");
    assert.equal(humanDuration(70_000), "About a minute");
    assert.equal(humanDuration(3 * 86_400_000), "3 days");
    assert.equal(humanTime(new Date(now - 120_000), now), "2 minutes ago");
    assert.equal(humanTime(new Date(now + 4 * 60_000), now), "4 minutes from now");
    assert.equal(humanTime(new Date("2318-01-01T00:00:00Z"), now), "Forever");
    assert.deepEqual([4_000, 83_000, 2 * 3_600_000 + 60_000].map(shortDuration), ["4s", "1m23s", "2h1m"]);
  });

  it("tables pad each column to its widest cell", () => {
    assert.equal(table(["NAME", "SIZE"], [["tiny:latest", "44 MB"], ["a", "4.7 MB"]]), "NAME           SIZE\ntiny:latest    44 MB\na              4.7 MB");
  });

  it("the processor column splits memory between CPU and GPU", () => {
    assert.deepEqual([processor(100, 0), processor(100, 100), processor(100, 75), processor(100, 200)], ["100% CPU", "100% GPU", "25%/75% CPU/GPU", "Unknown"]);
  });

  it("a terminal gets a bar redrawn in place, with speed and time left; a step of its own gets a line", () => {
    const { stream, text } = fakeStream(true);
    let now = 0;
    const bar = progressBar(stream, { now: () => now });
    bar.show({ status: "pulling manifest" });
    bar.show({ status: "pulling 0123456789ab", total: 10_000_000, completed: 0 });
    now = 1000;
    bar.show({ status: "pulling 0123456789ab", total: 10_000_000, completed: 2_000_000 });
    now = 1050; // within the redraw interval: not drawn
    bar.show({ status: "pulling 0123456789ab", total: 10_000_000, completed: 2_100_000 });
    now = 2000;
    bar.show({ status: "pulling 0123456789ab", total: 10_000_000, completed: 4_000_000 });
    bar.show({ status: "success" });
    bar.end();
    const lines = text().split("\n");
    assert.equal(plainText(lines[0]!), "pulling manifest");
    const redraws = lines[1]!.split("\r").filter(Boolean).map(plainText);
    assert.equal(redraws.length, 3);
    assert.match(redraws[1]!, /^pulling 0123456789ab: {2}20% ▕█+ +▏ 2 MB\/10 MB {2}2 MB\/s {2}4s$/);
    assert.match(redraws[2]!, /^pulling 0123456789ab: {2}40% ▕█+ +▏ 4 MB\/10 MB {2}2 MB\/s {2}3s$/);
    assert.equal(plainText(lines[2]!), "success");
    assert.equal(lines[3], "");
  });

  it("elsewhere, plain lines: one per step, byte counts at most once a second and at the end", () => {
    const { stream, text } = fakeStream(false);
    const view = progressView(stream);
    view.show({ status: "pulling manifest" });
    view.show({ status: "pulling 0123456789ab", total: 2_000_000, completed: 1_000_000 });
    view.show({ status: "pulling 0123456789ab", total: 2_000_000, completed: 1_500_000 });
    view.show({ status: "pulling 0123456789ab", total: 2_000_000, completed: 2_000_000 });
    view.show({ status: "success" });
    view.end();
    assert.equal(text(), "pulling manifest\npulling 0123456789ab 50% (1.0/2.0 MB)\npulling 0123456789ab 100% (2.0/2.0 MB)\nsuccess\n");
  });

  it("parameters are typed by name; stop accumulates; unknown names and wrong kinds are refused", () => {
    let parameters = setParameter({}, "num_predict", "8");
    parameters = setParameter(parameters, "temperature", "0.2");
    parameters = setParameter(parameters, "use_mmap", "false");
    parameters = setParameter(parameters, "stop", "END");
    parameters = setParameter(parameters, "stop", "<|im_end|>");
    assert.deepEqual(parameters, { num_predict: 8, temperature: 0.2, use_mmap: false, stop: ["END", "<|im_end|>"] });
    assert.throws(() => setParameter({}, "bogus", "1"), /unknown parameter "bogus"/);
    assert.throws(() => setParameter({}, "num_predict", "1.5"), /num_predict must be an integer/);
    assert.throws(() => setParameter({}, "temperature", "warm"), /temperature must be a number/);
    assert.throws(() => setParameter({}, "toString", "1"), /unknown parameter/);
  });
});
