/**
 * Hostile input, fuzzed: a bounded, seeded run over every JSON endpoint of
 * the real gateway. Each input is invalid by construction (malformed JSON,
 * wrong types, huge numbers, deep nesting, oversized or non-UTF-8 bodies,
 * names built to escape the store, flags and overrides built to reach a
 * command line or a prototype), so each must get a 4xx with an `{"error"}`
 * body, in time, start no engine, and leave the data directory as it was;
 * and the gateway must serve a real chat afterwards.
 *
 * A failure prints the seed and the input: `MODELGATE_FUZZ_SEED=<seed> npm test -- hostile-input`.
 */
import assert from "node:assert/strict";
import { readdir, stat } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { describe, it } from "node:test";
import { useGateway } from "../support/gateway.ts";
import { descendants } from "../support/processes.ts";

const seed = Number(process.env.MODELGATE_FUZZ_SEED ?? 20251125);
const maxBodyBytes = 256 * 1024;
const requestTimeoutMs = 15_000;

/** mulberry32: small, seedable, good enough to pick inputs. */
function prng(state: number) {
  const next = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]! };
}

type Kind = "string" | "number" | "boolean" | "object" | "array" | "null";
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Raw text spliced into a serialised body where a field holds this marker: what JSON.stringify cannot write. */
const raw = (text: string | Uint8Array) => ({ [rawMarker]: text });
const rawMarker = "\u0000raw\u0000";

interface Target {
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  /** The path, or for routes that take a name in the path, the path given that name. */
  readonly path: string | ((name: string) => string);
  /** A valid body for the model `name`, or none. */
  readonly body?: (name: string) => Record<string, Json>;
  /** A name that exists, so the only thing wrong with an input is what the fuzz put in. */
  readonly model: string;
  /** Where names go in the body; empty when only the path takes one. */
  readonly nameFields: readonly string[];
  /** Fields the endpoint reads, with the kinds it accepts. */
  readonly typed: Readonly<Record<string, readonly Kind[]>>;
  /** Fields merged into the valid body, each set built to reach a command line, a file or a prototype. */
  readonly injections?: readonly string[];
}

const completionFields = {
  stream: ["boolean", "null"],
  format: ["string", "object", "null"],
  options: ["object", "null"],
  keep_alive: ["number", "string", "null"],
  think: ["boolean", "string", "null"],
  "options.num_ctx": ["number", "null"],
  "options.temperature": ["number", "null"],
  "options.stop": ["string", "array", "null"],
  "options.use_mmap": ["boolean", "null"],
} as const satisfies Record<string, readonly Kind[]>;

const engineRouting = { model: ["string"], stream: ["boolean", "null"], keep_alive: ["number", "string"] } as const satisfies Record<
  string,
  readonly Kind[]
>;

/** `/api/pull` and `/api/push` take the same request. */
const transfer = (path: string): Target => ({
  method: "POST",
  path,
  body: (model) => ({ model, stream: false }),
  model: "tiny",
  nameFields: ["model", "name"],
  typed: { model: ["string", "null"], insecure: ["boolean", "null"], stream: ["boolean", "null"] },
});

const targets: Readonly<Record<string, Target>> = {
  "POST /api/chat": {
    method: "POST",
    path: "/api/chat",
    body: (model) => ({ model, messages: [{ role: "user", content: "hi" }], stream: false, options: { num_predict: 1 } }),
    model: "tiny",
    nameFields: ["model"],
    typed: {
      model: ["string", "null"],
      messages: ["array", "null"],
      "messages.0": ["object"],
      "messages.0.role": ["string"],
      "messages.0.content": ["string", "null"],
      "messages.0.images": ["array", "null"],
      tools: ["array", "null"],
      ...completionFields,
    },
  },
  "POST /api/generate": {
    method: "POST",
    path: "/api/generate",
    body: (model) => ({ model, prompt: "hi", stream: false, options: { num_predict: 1 } }),
    model: "tiny",
    nameFields: ["model"],
    typed: {
      model: ["string", "null"],
      prompt: ["string", "null"],
      suffix: ["string", "null"],
      system: ["string", "null"],
      template: ["string", "null"],
      context: ["array", "null"],
      raw: ["boolean", "null"],
      images: ["array", "null"],
      ...completionFields,
    },
  },
  "POST /api/embed": {
    method: "POST",
    path: "/api/embed",
    body: (model) => ({ model, input: "hi" }),
    model: "tiny-embed",
    nameFields: ["model"],
    typed: { model: ["string", "null"], input: ["string", "array", "null"], truncate: ["boolean", "null"], dimensions: ["number", "null"], options: ["object", "null"], keep_alive: ["number", "string", "null"] },
  },
  "POST /api/embeddings": {
    method: "POST",
    path: "/api/embeddings",
    body: (model) => ({ model, prompt: "hi" }),
    model: "tiny-embed",
    nameFields: ["model"],
    typed: { model: ["string", "null"], prompt: ["string", "null"], options: ["object", "null"], keep_alive: ["number", "string", "null"] },
  },
  "POST /api/show": {
    method: "POST",
    path: "/api/show",
    body: (model) => ({ model }),
    model: "tiny",
    nameFields: ["model", "name"],
    typed: { model: ["string", "null"], verbose: ["boolean", "null"] },
  },
  "POST /api/pull": transfer("/api/pull"),
  "POST /api/push": transfer("/api/push"),
  "POST /api/create": {
    method: "POST",
    path: "/api/create",
    body: (model) => ({ model, from: "tiny", stream: false }),
    model: "tiny-copy",
    nameFields: ["model", "from"],
    typed: {
      model: ["string", "null"],
      from: ["string", "null"],
      files: ["object", "null"],
      adapters: ["object", "null"],
      template: ["string", "null"],
      system: ["string", "null"],
      parameters: ["object", "null"],
      license: ["string", "array", "null"],
      messages: ["array", "null"],
      quantize: ["string", "null"],
      stream: ["boolean", "null"],
    },
  },
  "POST /api/copy": {
    method: "POST",
    path: "/api/copy",
    body: (model) => ({ source: "tiny", destination: model }),
    model: "tiny-copy",
    nameFields: ["destination", "source"],
    typed: { source: ["string"], destination: ["string"] },
  },
  "DELETE /api/delete": {
    method: "DELETE",
    path: "/api/delete",
    body: (model) => ({ model }),
    model: "tiny",
    nameFields: ["model", "name"],
    typed: { model: ["string", "null"], name: ["string", "null"] },
  },
  "POST /api/blobs/:digest": {
    method: "POST",
    path: (digest) => `/api/blobs/${digest}`,
    model: `sha256:${"0".repeat(64)}`,
    nameFields: [],
    typed: {},
  },
  "POST /engines/v1/chat/completions": {
    method: "POST",
    path: "/engines/v1/chat/completions",
    body: (model) => ({ model, messages: [{ role: "user", content: "hi" }], max_tokens: 1 }),
    model: "tiny",
    nameFields: ["model"],
    typed: engineRouting,
  },
  "POST /engines/:backend/v1/chat/completions": {
    method: "POST",
    path: (backend) => `/engines/${backend}/v1/chat/completions`,
    body: () => ({ model: "tiny", messages: [{ role: "user", content: "hi" }], max_tokens: 1 }),
    model: "llama.cpp",
    nameFields: [],
    typed: {},
  },
  "POST /v1/completions": {
    method: "POST",
    path: "/v1/completions",
    body: (model) => ({ model, prompt: "hi", max_tokens: 1 }),
    model: "tiny",
    nameFields: ["model"],
    typed: engineRouting,
  },
  "POST /v1/embeddings": {
    method: "POST",
    path: "/v1/embeddings",
    body: (model) => ({ model, input: "hi" }),
    model: "tiny-embed",
    nameFields: ["model"],
    typed: { ...engineRouting, truncate: ["boolean"] },
  },
  "POST /engines/rerank": {
    method: "POST",
    path: "/engines/rerank",
    body: (model) => ({ model, query: "hi", documents: ["a", "b"] }),
    model: "tiny-embed",
    nameFields: ["model"],
    typed: engineRouting,
  },
  "GET /engines/v1/models/:model": {
    method: "GET",
    path: (model) => `/engines/v1/models/${model}`,
    model: "tiny",
    nameFields: [],
    typed: {},
  },
  "POST /engines/_configure": {
    method: "POST",
    path: "/engines/_configure",
    body: (model) => ({ model, "context-size": 512 }),
    model: "tiny",
    nameFields: ["model"],
    typed: {
      model: ["string"],
      mode: ["string"],
      keep_alive: ["number", "string"],
      "context-size": ["number"],
      "runtime-flags": ["array"],
      speculative: ["object"],
      llamacpp: ["object"],
      vllm: ["object"],
    },
    injections: [
      '{"runtime-flags": ["--model", "/etc/passwd"]}',
      '{"runtime-flags": ["-m", "x.gguf"]}',
      '{"runtime-flags": ["--model=../../x.gguf"]}',
      '{"runtime-flags": ["--host", "0.0.0.0"]}',
      '{"runtime-flags": ["--port", "80"]}',
      '{"runtime-flags": ["--log-file", "pwned"]}',
      '{"runtime-flags": ["--chat-template-file", "..\\..\\x"]}',
      '{"runtime-flags": ["--slot-save-path", "/tmp"]}',
      '{"runtime-flags": ["--lora", "adapter.gguf"]}',
      '{"runtime-flags": ["--mmproj", "x"]}',
      '{"runtime-flags": ["--ctx-size", "1\n--model"]}',
      '{"runtime-flags": ["--threads=1\u0000"]}',
      '{"runtime-flags": ["--api-key", "x"]}',
      '{"runtime-flags": ["--no-such-flag"]}',
      '{"runtime-flags": "--threads 2"}',
      '{"runtime-flags": {"0": "--threads"}}',
      '{"speculative": {"draft_model": "../../etc/passwd"}}',
      '{"speculative": {"draft_model": "no-such-draft"}}',
      '{"speculative": {"draft_model": "tiny-draft", "__proto__": {"num_tokens": 1}}}',
      '{"llamacpp": {"reasoning-budget": 1e400}}',
      '{"llamacpp": {"constructor": {"prototype": {"polluted": true}}}}',
      '{"vllm": {"hf-overrides": {"__proto__": {"polluted": true}}}}',
      '{"vllm": {"hf-overrides": {"constructor": {"prototype": {"polluted": true}}}}}',
      '{"vllm": {"hf-overrides": {"a": {"prototype": 1}}}}',
      '{"vllm": {"hf-overrides": {"../x": 1}}}',
      '{"vllm": {"hf-overrides": {"a b": "--trust-remote-code"}}}',
      '{"vllm": {"hf-overrides": {"x": 1e400}}}',
      '{"vllm": {"hf-overrides": "--trust-remote-code"}}',
      '{"vllm": {"hf-overrides": [1]}}',
      '{"__proto__": {"runtime-flags": ["--model", "/etc/passwd"]}}',
      '{"mode": "__proto__"}',
      '{"mode": "constructor"}',
      '{"keep_alive": "1e400h"}',
      '{"keep_alive": "-"}',
      '{"context-size": 0}',
      '{"context-size": 2147483648}',
      '{"context-size": 1.5}',
    ],
  },
  "POST /engines/unload": {
    method: "POST",
    path: "/engines/unload",
    body: (model) => ({ models: [model] }),
    model: "tiny",
    nameFields: [],
    typed: { models: ["array"], backend: ["string"], "models.0": ["string"] },
  },
  "POST /models/create": {
    method: "POST",
    path: "/models/create",
    body: (model) => ({ name: model, from: "tiny" }),
    model: "tiny-copy",
    nameFields: ["name", "from"],
    typed: {
      from: ["string"],
      name: ["string"],
      files: ["object"],
      template: ["string"],
      system: ["string"],
      parameters: ["object"],
      license: ["string", "array"],
      messages: ["array"],
      insecure: ["boolean"],
    },
  },
  "POST /models/:name/tag": {
    method: "POST",
    path: (name) => `/models/${name}/tag?target=tiny-copy`,
    model: "tiny",
    nameFields: [],
    typed: {},
  },
  "POST /models/:name/push": {
    method: "POST",
    path: (name) => `/models/${name}/push`,
    model: "tiny",
    nameFields: [],
    typed: {},
  },
  "DELETE /models/:name": { method: "DELETE", path: (name) => `/models/${name}`, model: "tiny", nameFields: [], typed: {} },
  "GET /models/:name": { method: "GET", path: (name) => `/models/${name}`, model: "tiny", nameFields: [], typed: {} },
  "PUT /models/blobs/:digest": {
    method: "PUT",
    path: (digest) => `/models/blobs/${digest}`,
    model: `sha256:${"0".repeat(64)}`,
    nameFields: [],
    typed: {},
  },
};

/** Names built to escape the store, a registry path or a command line, or to alias a real model. */
const hostileNames: readonly (string | Uint8Array)[] = [
  "../../etc/passwd",
  "a/../../b",
  "tiny/../tiny",
  "./tiny",
  "/etc/passwd",
  "..",
  ".",
  "tiny:../../x",
  "tiny@sha256:../../../etc",
  "hf.co/../../etc/passwd",
  "localhost:5000/../../x",
  "%2e%2e%2fetc%2fpasswd",
  "..%2f..%2fetc",
  "tiny%00",
  "x\u0000y",
  "tiny\u0000",
  "C:\\Windows\\system32",
  "\\\\server\\share\\x",
  "tiny\n--model",
  "tiny\r\nX-Injected: 1",
  "--model=/etc/passwd",
  "-m",
  "\u202Etiny",
  "x".repeat(5000),
  // Overlong UTF-8 for "../" and a lone continuation byte: not UTF-8 at all.
  Uint8Array.from([0xc0, 0xae, 0xc0, 0xae, 0xc0, 0xaf, 0x74, 0x69, 0x6e, 0x79]),
  Uint8Array.from([0x74, 0x69, 0x6e, 0x79, 0x80]),
];

/**
 * The same for a name that travels in the path: encoded, and the raw tricks
 * encoding would undo. Bare dot segments (`..`, `%2e%2e`) are left out: the
 * server resolves them as every URL parser does before routing, so
 * `/engines/../v1/…` is plainly `/v1/…`.
 */
const hostilePathNames: readonly string[] = [
  ...hostileNames.filter((name): name is string => typeof name === "string").map(encodeURIComponent).filter((name) => !/^\.{1,2}$/.test(name)),
  "..%2f..%2fetc%2fpasswd",
  "%2e%2e%2f%2e%2e%2fetc",
  "tiny%00",
  "%00",
  "%c0%ae%c0%ae%2f",
  "%ff%fe",
  "..%5c..%5cwindows",
  "tiny%2f..%2f..%2fx",
];

const malformedBodies: readonly (string | Uint8Array)[] = [
  "",
  " ",
  "{",
  "}",
  "[",
  "null",
  "true",
  "0",
  '"model"',
  "[]",
  '{"model": "tiny",}',
  "{'model': 'tiny'}",
  '{"model": tiny}',
  '{"model": "tiny"} trailing',
  '{"model": "tiny" /* comment */}',
  '{"model": NaN}',
  '{"model": "\\ud800"}',
  '{"model": "\\x41"}',
  "\ufeff{}",
  Uint8Array.from([0xff, 0xfe, 0x7b, 0x7d]),
  Uint8Array.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d]),
];

/** Out of range for any field: JSON.parse would make them ±Infinity. */
const overflowing = ["1e400", "-1e400", "123e99999"];
/** Numbers, in fields that take no number. */
const hugeNumbers = [...overflowing, "1e308", "18446744073709551616", "-9223372036854775809", "1e-400"];

/** Values of each kind, for putting the wrong one in a field. */
function valueOf(kind: Kind, random: ReturnType<typeof prng>): Json | ReturnType<typeof raw> {
  switch (kind) {
    case "string":
      return random.pick(["", "x", "../../etc/passwd", "\u0000", "9".repeat(1000)]);
    case "number":
      return random.pick<Json | ReturnType<typeof raw>>([0, -1, 1.5, 2 ** 53, raw(random.pick(hugeNumbers))]);
    case "boolean":
      return random.pick([true, false]);
    case "object":
      return random.pick<Json>([{}, { a: 1 }, JSON.parse('{"__proto__": {"polluted": true}}') as Json, { constructor: { prototype: { polluted: true } } }]);
    case "array":
      return random.pick<Json>([[], [1], [[]], ["a", 2, null]]);
    case "null":
      return null;
  }
}

const kinds: readonly Kind[] = ["string", "number", "boolean", "object", "array", "null"];

/** Arrays or objects nested `depth` levels, of a kind `accepted` leaves out (an object of objects may be a fine `options`). */
function deep(depth: number, accepted: readonly Kind[], random: ReturnType<typeof prng>) {
  const arrays = raw("[".repeat(depth) + "]".repeat(depth));
  const objects = raw('{"a":'.repeat(depth) + "1" + "}".repeat(depth));
  if (accepted.includes("array")) return objects;
  if (accepted.includes("object")) return arrays;
  return random.next() < 0.5 ? arrays : objects;
}

/** Sets `path` (dots, numeric parts index arrays) in a copy of `body`. */
function withField(body: Record<string, Json>, path: string, value: unknown): Record<string, Json> {
  const copy = structuredClone(body);
  const parts = path.split(".");
  let node: Record<string, unknown> = copy;
  for (const part of parts.slice(0, -1)) {
    if (typeof node[part] !== "object" || node[part] === null) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts.at(-1)!] = value;
  return copy;
}

function withoutField(body: Record<string, Json>, field: string): Record<string, Json> {
  const { [field]: _removed, ...rest } = body;
  return rest;
}

/** JSON text, with every `raw()` value spliced in as it is. */
function serialise(body: unknown): Uint8Array {
  const spliced: (string | Uint8Array)[] = [];
  const text = JSON.stringify(body, (_key, value: unknown) => {
    if (typeof value === "object" && value !== null && rawMarker in value) {
      spliced.push((value as Record<string, string | Uint8Array>)[rawMarker]!);
      return `\u0001${spliced.length - 1}\u0001`;
    }
    return value;
  });
  const pieces = text.split(/"\\u0001(\d+)\\u0001"/);
  return Buffer.concat(pieces.map((piece, index) => (index % 2 ? bytes(spliced[Number(piece)]!) : Buffer.from(piece))));
}

const bytes = (value: string | Uint8Array) => (typeof value === "string" ? Buffer.from(value) : Buffer.from(value));

interface Input {
  readonly category: string;
  readonly path: string;
  readonly body?: Uint8Array | ReadableStream<Uint8Array>;
  /** For the failure message: what was sent, shortened. */
  readonly shown: string;
  /** Sent exactly as written: fetch would resolve `..` and `%2e%2e` segments before sending. */
  readonly rawPath?: boolean;
}

const show = (value: unknown) => {
  const text = value instanceof Uint8Array ? `bytes ${Buffer.from(value).toString("hex").slice(0, 80)}` : JSON.stringify(value) ?? String(value);
  return text.length > 240 ? `${text.slice(0, 240)}… (${text.length} chars)` : text;
};

/** Every input for one target, drawn from `random`. */
function inputsFor(target: Target, random: ReturnType<typeof prng>): Input[] {
  const inputs: Input[] = [];
  const path = typeof target.path === "string" ? target.path : target.path(encodeURIComponent(target.model));
  const base = target.body?.(target.model);
  const add = (category: string, body: unknown, at = path) =>
    inputs.push({ category, path: at, body: body instanceof Uint8Array ? body : serialise(body), shown: `${at} ${show(body)}` });

  if (base) {
    for (const body of malformedBodies) inputs.push({ category: "malformed JSON", path, body: bytes(body), shown: `${path} ${show(body)}` });
    // Wrong types: every field, twice, with kinds it does not take.
    for (const [field, accepted] of Object.entries(target.typed)) {
      const wrong = kinds.filter((kind) => !accepted.includes(kind));
      for (let i = 0; i < 2; i += 1) add("wrong type", withField(base, field, valueOf(random.pick(wrong), random)));
      add("huge number", withField(base, field, raw(random.pick(accepted.includes("number") ? overflowing : hugeNumbers))));
      add("deep nesting", withField(base, field, deep(random.pick([1_000, 100_000]), accepted, random)));
    }
    for (const injection of target.injections ?? []) {
      add("injection", raw(serialise(base).subarray(0, -1).toString() + "," + injection.slice(1)));
    }
    // Names, in every field that takes one.
    for (const field of target.nameFields) {
      // `name` is what older clients send instead of `model`: alone, or `model` would win.
      const named = field === "name" ? withoutField(base, "model") : base;
      for (const name of hostileNames) add("hostile name", withField(named, field, typeof name === "string" ? name : raw(Buffer.concat([Buffer.from('"'), name, Buffer.from('"')]))));
    }
    // Unknown fields and prototype keys beside a name that must be refused, so nothing legitimate runs.
    if (target.nameFields[0]) {
      for (const key of ["__proto__", "constructor", "prototype", "x-unknown", ""]) {
        const polluting = { ...withField(base, target.nameFields[0], random.pick(hostileNames.filter((name) => typeof name === "string"))) };
        add("unknown field", JSON.parse(JSON.stringify(polluting).replace(/^\{/, `{${JSON.stringify(key)}: {"polluted": true, "model": "tiny"},`)));
      }
    }
    // Oversized: declared, and chunked with no length.
    const padding = "x".repeat(maxBodyBytes);
    add("oversized body", withField(base, "padding", padding));
    inputs.push({
      category: "oversized body",
      path,
      body: new Blob([serialise(withField(base, "padding", padding))]).stream(),
      shown: `${path} chunked ${maxBodyBytes} bytes`,
    });
  }
  const pathWith = target.path;
  if (typeof pathWith !== "string") {
    for (const name of hostilePathNames) {
      const at = pathWith(name);
      inputs.push({ category: "hostile name", path: at, ...(base ? { body: serialise(base) } : {}), shown: at, rawPath: true });
    }
  }
  return inputs;
}

/** A request whose path goes out exactly as written, answered as a fetch Response. */
function rawRequest(base: string, method: string, path: string, body?: Uint8Array): Promise<Response> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const request = httpRequest({ hostname, port, method, path, headers: { "content-type": "application/json" }, timeout: requestTimeoutMs }, (reply) => {
      const chunks: Buffer[] = [];
      reply.on("data", (chunk: Buffer) => chunks.push(chunk));
      reply.on("end", () => {
        const status = reply.statusCode ?? 0;
        resolve(new Response([101, 204, 304].includes(status) ? null : Buffer.concat(chunks), { status }));
      });
      reply.on("error", reject);
    });
    request.on("timeout", () => request.destroy(new Error("timed out")));
    request.on("error", reject);
    request.end(body);
  });
}

/** Path, size and modification time of everything under `dir`. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = new Map<string, string>();
  for (const entry of entries) {
    const path = join(entry.parentPath, entry.name);
    const info = await stat(path).catch(() => undefined);
    if (info) files.set(path, entry.isDirectory() ? "dir" : `${info.size} ${info.mtimeMs}`);
  }
  return files;
}

function differences(before: Map<string, string>, after: Map<string, string>): string[] {
  const changed = [...after].filter(([path, state]) => before.get(path) !== state).map(([path, state]) => `${path}: ${before.get(path) ?? "new"} → ${state}`);
  const removed = [...before.keys()].filter((path) => !after.has(path)).map((path) => `${path}: removed`);
  return [...changed, ...removed];
}

/** What is wrong with a reply to a hostile input, or nothing. */
async function refusal(response: Response, engines: boolean): Promise<string | undefined> {
  const text = await response.text();
  if (response.status < 400 || response.status >= 500) return `status ${response.status}: ${text.slice(0, 200)}`;
  let parsed: { error?: unknown };
  try {
    parsed = JSON.parse(text) as { error?: unknown };
  } catch {
    return `status ${response.status}, not JSON: ${text.slice(0, 200)}`;
  }
  const error = parsed.error;
  const described = typeof error === "string" ? error : engines && typeof (error as { message?: unknown })?.message === "string";
  return described ? undefined : `status ${response.status}, no error message: ${text.slice(0, 200)}`;
}

describe(`hostile input, fuzzed through the real gateway (seed ${seed})`, () => {
  const served = useGateway({ env: { MODELGATE_MAX_BODY_BYTES: String(maxBodyBytes) } });
  const tried = new Map<string, number>();

  it("refuses every input with a 4xx and an error body, starting, writing and deleting nothing", async (t) => {
    const { url, home, child } = served.gateway;
    await (await fetch(`${url}/api/tags`)).arrayBuffer(); // the demo models are registered
    const failures: string[] = [];
    const random = prng(seed);
    for (const [label, target] of Object.entries(targets)) {
      const before = await snapshot(home);
      const inputs = inputsFor(target, random);
      tried.set(label, inputs.length);
      const engines = /^\S+ \/(engines|v1)\//.test(label);
      for (const input of inputs) {
        let problem: string | undefined;
        try {
          const response = input.rawPath
            ? await rawRequest(url, target.method, input.path, input.body as Uint8Array | undefined)
            : await fetch(url + input.path, {
                method: target.method,
                headers: { "content-type": "application/json" },
                signal: AbortSignal.timeout(requestTimeoutMs),
                ...(input.body === undefined ? {} : { body: input.body, duplex: "half" }),
              } as RequestInit);
          problem = await refusal(response, engines);
        } catch (error) {
          problem = `no reply: ${(error as Error).message}${(error as Error).cause ? ` (${String((error as Error).cause)})` : ""}`;
        }
        if (problem) failures.push(`${label} [${input.category}] ${input.shown}\n    → ${problem}`);
      }
      const engineProcesses = (await descendants(child.pid!)).filter((process) => process.name === "llama-server");
      if (engineProcesses.length) failures.push(`${label}: started ${engineProcesses.length} llama-server`);
      for (const change of differences(before, await snapshot(home))) failures.push(`${label}: ${change}`);
    }
    const total = [...tried.values()].reduce((sum, count) => sum + count, 0);
    t.diagnostic(`seed ${seed}: ${total} inputs over ${tried.size} endpoints: ${[...tried].map(([label, count]) => `${label} ${count}`).join(", ")}`);
    assert.deepEqual(failures, [], `seed ${seed}: ${failures.length} of ${total} inputs were not refused cleanly:\n${failures.slice(0, 400).join("\n")}`);
  });

  it("refuses a JSON body that is no object (an array) with words of its own, on every Ollama-style route", async () => {
    const routes = ["/api/chat", "/api/generate", "/api/show", "/api/embed", "/api/embeddings", "/api/pull", "/api/copy", "/v1/messages", "/v1/responses", "/v1/chat/completions", "/engines/v1/completions"];
    for (const path of routes) {
      for (const body of ["[]", '[{"model":"tiny"}]']) {
        const response = await fetch(served.gateway.url + path, { method: "POST", headers: { "content-type": "application/json" }, body });
        assert.equal(response.status, 400, `${path} ${body}`);
        const reply = (await response.json()) as { error: unknown };
        const message = typeof reply.error === "string" ? reply.error : (reply.error as { message?: unknown }).message;
        assert.equal(message, "the request body must be a JSON object", `${path} ${body}`);
      }
    }
  });

  it("keeps serving: the version, and a real chat", async () => {
    const version = await fetch(`${served.gateway.url}/api/version`, { signal: AbortSignal.timeout(requestTimeoutMs) });
    assert.equal(version.status, 200);
    const reply = await served.ollama.chat({ model: "tiny", messages: [{ role: "user", content: "hi" }], options: { num_predict: 3 } });
    assert.equal(reply.done, true);
    assert.ok(reply.eval_count > 0);
  });
});
