/**
 * The Anthropic and Responses translations' own cost (issue 18), wired as
 * their routes wire them (the engine's chunks in, each event's bytes out),
 * without sockets: CPU per engine event on a long stream, and per request
 * (a stream of one token, with its opening and closing events).
 *
 * - `/v1/responses`: chat completion chunks → Responses events;
 * - `/v1/messages`, translated (runners without Anthropic's API): chat
 *   completion chunks → Anthropic events;
 * - `/v1/messages`, native (llama-server): Anthropic events normalised.
 *
 * The streams are written as the bench's stand-in engine writes them
 * (`support/llama-server-stand-in.mjs`, llama-server's field order), one
 * event per chunk; the recorded llama-server streams (`fixtures/streams/`)
 * are timed too.
 *
 *   npm run bench -- dialects [--tokens 100]
 */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { createChatStreamTranslator } from "../src/anthropic/chat-stream.ts";
import { newAnthropicId } from "../src/anthropic/anthropic-id.ts";
import { createMessageStreamNormalizer } from "../src/anthropic/native-messages.ts";
import { encodedTranslation, pieceTranslation, type EventStreamTranslator } from "../src/engines/event-translation.ts";
import { newId, startResponse } from "../src/responses/response-object.ts";
import { createResponseStreamTranslator } from "../src/responses/response-stream.ts";
import { loadAverageText } from "./support/machine-load.ts";
import { microBenchmark } from "./support/micro-benchmark.ts";
import { fixed, printTable } from "./support/table.ts";

const { values } = parseArgs({ options: { tokens: { type: "string", default: "100" } } });
const tokens = Number(values.tokens);

const words = ["Once", " upon", " a", " time", ",", " ünïcode", " \"quoted\"", " words", "\n", " ✓"];
const tail = `,"created":1795610237,"id":"chatcmpl-iw7Akf0daCbTRG93w1cLyaFBYxonjXQI","model":"tiny:latest","system_fingerprint":"b1-de3ff81","object":"chat.completion.chunk"}\n\n`;

/** A chat completion stream of `count` tokens, as chunks. */
function chatStream(count: number): Buffer[] {
  const chunk = (choice: string) => Buffer.from(`data: {"choices":[${choice}]${tail}`);
  return [
    chunk('{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}'),
    ...Array.from({ length: count }, (_, index) => chunk(`{"finish_reason":null,"index":0,"delta":{"content":${JSON.stringify(words[index % words.length])}}}`)),
    chunk('{"finish_reason":"length","index":0,"delta":{}}'),
    Buffer.from(`data: {"choices":[]${tail.slice(0, -3)},"usage":{"completion_tokens":${count},"prompt_tokens":20,"total_tokens":${count + 20}}}\n\n`),
    Buffer.from("data: [DONE]\n\n"),
  ];
}

/** llama-server's native Anthropic stream of `count` tokens, as chunks. */
function messagesStream(count: number): Buffer[] {
  const event = (type: string, data: object) => Buffer.from(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  const message = { id: "chatcmpl-1", type: "message", role: "assistant", content: [], model: "tiny:latest", stop_reason: null, stop_sequence: null, usage: { input_tokens: 20, output_tokens: 0 } };
  return [
    event("message_start", { message }),
    event("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
    ...Array.from({ length: count }, (_, index) => event("content_block_delta", { index: 0, delta: { type: "text_delta", text: words[index % words.length] } })),
    event("content_block_stop", { index: 0 }),
    event("message_delta", { delta: { stop_reason: "max_tokens", stop_sequence: null }, usage: { output_tokens: count } }),
    event("message_stop", {}),
  ];
}

/** A recorded stream cut after each event, as llama-server flushes them. */
async function recorded(name: string): Promise<Buffer[]> {
  const text = await readFile(new URL(`../fixtures/streams/${name}`, import.meta.url), "utf8");
  return text.split(/(?<=\n\n)/).map((event) => Buffer.from(event));
}

/** One request's work: a translator made, every chunk pushed, the end; the bytes written counted. */
type Translation = (chunks: readonly Buffer[]) => number;

function written(translator: EventStreamTranslator<string>, chunks: readonly Buffer[], first: readonly string[] = []): number {
  let bytes = 0;
  const write = (piece: Uint8Array) => void (bytes += piece.length);
  const translation = encodedTranslation(pieceTranslation(translator), (event) => Buffer.from(event));
  for (const event of first) write(Buffer.from(event));
  for (const chunk of chunks) translation.push(chunk, write);
  void translation.end(write);
  return bytes;
}

const request = { model: "tiny:latest", input: "Hello", stream: true, store: false, max_output_tokens: tokens };
const translations: [string, "chat" | "messages", Translation][] = [
  [
    "/v1/responses",
    "chat",
    (chunks) => {
      const translator = createResponseStreamTranslator({ response: startResponse(request, newId("resp"), new Date()), newId });
      return written(translator, chunks, translator.start());
    },
  ],
  ["/v1/messages, translated", "chat", (chunks) => written(createChatStreamTranslator({ model: "tiny:latest", newId: newAnthropicId }), chunks)],
  ["/v1/messages, native", "messages", (chunks) => written(createMessageStreamNormalizer("tiny:latest"), chunks)],
];

/** Microseconds per request over `chunks`, median and fastest sample. */
function perRequest(translation: Translation, chunks: readonly Buffer[]): [number, number] {
  const result = microBenchmark(
    (count) => {
      let bytes = 0;
      for (let i = 0; i < count; i++) bytes += translation(chunks);
      return bytes;
    },
    { samples: 9, sampleMs: 150 },
  );
  return [result.medianNs / 1000, result.minNs / 1000];
}

console.log(`\n# dialect translations: CPU per request and per engine event, no sockets (load average ${loadAverageText()} at start)\n`);
const streams = { chat: { long: chatStream(tokens), short: chatStream(1) }, messages: { long: messagesStream(tokens), short: messagesStream(1) } };
// Every translation run a while before any is timed, so the first one timed does not pay for the JIT's start.
for (let round = 0; round < 300; round++) for (const [, input, translation] of translations) translation(streams[input].long);
printTable(
  ["translation", "µs per request (1 token) p50", "min", `ns per token over ${tokens} p50`, "min"],
  translations.map(([name, input, translation]) => {
    const [shortMedian, shortMin] = perRequest(translation, streams[input].short);
    const [longMedian, longMin] = perRequest(translation, streams[input].long);
    const perToken = (long: number, short: number) => fixed(((long - short) * 1000) / (tokens - 1), 0);
    return [name, fixed(shortMedian, 1), fixed(shortMin, 1), perToken(longMedian, shortMedian), perToken(longMin, shortMin)];
  }),
);
console.log("");
const fixtures: Record<"chat" | "messages", string[]> = { chat: ["chat-plain.sse", "chat-tools.sse"], messages: ["anthropic-plain.sse", "anthropic-tools.sse"] };
const rows: string[][] = [];
for (const [name, input, translation] of translations) for (const file of fixtures[input]) {
  const chunks = await recorded(file);
  const [median, min] = perRequest(translation, chunks);
  rows.push([`${name} ← ${file}`, String(chunks.length), fixed(median, 1), fixed(min, 1)]);
}
printTable(["recorded llama-server stream", "events", "µs per request p50", "min"], rows);
console.log(`\n(load average ${loadAverageText()} at the end)`);
