/** The log pieces on their own: the rings `GET /logs` serves, the human-readable format, the token counts read off a response's end. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createLogBuffer, type LogLine } from "../../src/server/log-buffer.ts";
import { formatLogRecord } from "../../src/server/log-format.ts";
import { createLogger } from "../../src/server/logger.ts";
import { bodyTail, reportedTokens, tokenTailBytes } from "../../src/server/response-tokens.ts";

const tiny = { model: "tiny:latest", mode: "completion" };
const texts = (lines: readonly LogLine[]) => lines.map((line) => line.text);

describe("log buffer", () => {
  it("keeps the last lines of each source apart, and serves them in order of arrival", () => {
    const buffer = createLogBuffer({ linesPerSource: 3 });
    buffer.gatewayLine("g1");
    for (let i = 1; i <= 5; i++) buffer.runnerLine("socket-a", tiny, `a${i}`);
    buffer.gatewayLine("g2");
    assert.deepEqual(texts(buffer.lines()), ["g1", "a3", "a4", "a5", "g2"], "a chatty runner pushes out only its own lines");
    assert.deepEqual(buffer.lines().find((line) => line.text === "a3")?.runner, tiny);
    assert.equal(buffer.lines()[0]?.runner, undefined);
  });

  it("forgets the runner silent longest when too many have spoken", () => {
    const buffer = createLogBuffer({ maxRunners: 2 });
    buffer.runnerLine("a", tiny, "a");
    buffer.runnerLine("b", tiny, "b");
    buffer.runnerLine("a", tiny, "a again");
    buffer.runnerLine("c", tiny, "c");
    assert.deepEqual(texts(buffer.lines()), ["a", "a again", "c"]);
  });

  it("followers hear new lines until they stop, and are ended by close", () => {
    const buffer = createLogBuffer();
    const heard: string[] = [];
    let ended = 0;
    const stop = buffer.follow((line) => heard.push(line.text), () => ended++);
    buffer.gatewayLine("one");
    buffer.runnerLine("a", tiny, "two");
    stop();
    buffer.gatewayLine("three");
    buffer.follow(() => {}, () => ended++);
    buffer.close();
    assert.deepEqual(heard, ["one", "two"]);
    assert.equal(ended, 1, "only the follower still listening is ended");
  });

  it("makes a line given as a function when it is first read, once", () => {
    const buffer = createLogBuffer();
    let made = 0;
    buffer.gatewayLine(() => `made ${++made}`);
    buffer.gatewayLine("plain");
    assert.equal(made, 0, "not made until read");
    assert.deepEqual(texts(buffer.lines()), ["made 1", "plain"]);
    assert.deepEqual(texts(buffer.lines()), ["made 1", "plain"]);
    assert.equal(made, 1);
  });

  it("keeps the gateway's lines formatted as the terminal shows them, without colour", () => {
    const buffer = createLogBuffer();
    const logger = createLogger({ level: "info", format: "json", buffer });
    logger.info({ component: "http", status: 200 }, "GET /api/tags 200");
    logger.debug("below the level");
    const [line, ...rest] = buffer.lines();
    assert.equal(rest.length, 0);
    assert.match(line!.text, /^\d{4}-\d\d-\d\dT[\d:.]+Z INFO  GET \/api\/tags 200 component=http status=200$/);
  });
});

describe("log format", () => {
  it("time, level, message, then the other fields; errors by their message", () => {
    const line = formatLogRecord({
      level: 40,
      time: Date.parse("2026-01-01T00:00:00Z"),
      pid: 1,
      hostname: "h",
      service: "modelgate",
      msg: "runner failed",
      model: "tiny:latest",
      ms: 412,
      note: "two words",
      err: { type: "Error", message: "boom", stack: "Error: boom\n  at x" },
    });
    assert.equal(line, '2026-01-01T00:00:00.000Z WARN  runner failed model=tiny:latest ms=412 note="two words" err="boom"');
    assert.match(formatLogRecord({ level: 30, time: 0, msg: "x" }, { color: true }), /\x1b\[32mINFO \x1b\[0m x$/);
  });
});

describe("response tokens", () => {
  const bytes = (text: string) => new TextEncoder().encode(text);

  it("Ollama's counts from the last NDJSON line or a JSON reply", () => {
    const ndjson = '{"message":{"content":"a"},"done":false}\n{"done":true,"prompt_eval_count":12,"eval_count":5}\n';
    assert.deepEqual(reportedTokens("application/x-ndjson", bytes(ndjson), true), { promptTokens: 12, completionTokens: 5 });
    assert.deepEqual(reportedTokens("application/json; charset=UTF-8", bytes('{"done":true,"prompt_eval_count":3}'), true), { promptTokens: 3, completionTokens: 0 });
    assert.equal(reportedTokens("application/x-ndjson", bytes('{"status":"success"}\n'), true), undefined);
    // One line, no newline after it: that line is the last.
    assert.deepEqual(reportedTokens("application/x-ndjson", bytes('{"done":true,"prompt_eval_count":3,"eval_count":4} \r\n\n'), true), { promptTokens: 3, completionTokens: 4 });
  });

  it("OpenAI's usage from JSON, and from the last events of a stream even when its start was dropped", () => {
    assert.deepEqual(reportedTokens("application/json", bytes('{"usage":{"prompt_tokens":7,"completion_tokens":2}}'), true), { promptTokens: 7, completionTokens: 2 });
    assert.equal(reportedTokens("application/json", bytes('"prompt_tokens":7}}'), false), undefined, "a cut JSON body is not guessed at");
    const stream = 'tial":"x"}\n\ndata: {"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4}}\n\ndata: [DONE]\n\n';
    assert.deepEqual(reportedTokens("text/event-stream", bytes(stream), false), { promptTokens: 9, completionTokens: 4 });
  });

  it("the tail keeps the last bytes of a long body, and says whether it is whole", () => {
    const tail = bodyTail();
    tail.push(bytes("x".repeat(tokenTailBytes)));
    assert.equal(tail.bytes().whole, true, "nothing dropped yet");
    tail.push(bytes("y".repeat(tokenTailBytes)));
    tail.push(bytes('\n{"done":true,"prompt_eval_count":1,"eval_count":2}\n'));
    const { tail: kept, whole } = tail.bytes();
    assert.equal(whole, false);
    assert.ok(kept.byteLength < tokenTailBytes + 100);
    assert.deepEqual(reportedTokens("application/x-ndjson", kept, whole), { promptTokens: 1, completionTokens: 2 });
  });

  it("the tail is exactly the last bytes pushed, whatever the chunks' sizes (seeded)", () => {
    let seed = 1;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 100; round++) {
      const tail = bodyTail();
      let all = Buffer.alloc(0);
      for (let push = 0, pushes = Math.floor(random() * 60); push < pushes; push++) {
        const size = Math.floor(random() < 0.1 ? random() * 2.5 * tokenTailBytes : random() * 700);
        const chunk = Buffer.from(Array.from({ length: size }, () => Math.floor(random() * 256)));
        tail.push(chunk);
        all = Buffer.concat([all, chunk]);
        const { tail: kept, whole } = tail.bytes();
        assert.deepEqual(Buffer.from(kept), all.subarray(Math.max(0, all.byteLength - tokenTailBytes)), `round ${round}, push ${push}`);
        assert.equal(whole, all.byteLength <= tokenTailBytes, `round ${round}, push ${push}`);
      }
    }
  });
});
