/**
 * Go's text/template, the part Ollama's prompt templates use: text and
 * `{{- -}}` trimming, comments, fields and variables, pipelines, `if`,
 * `else if`, `range` (with `$i, $v :=`), `with`, `break`, `continue`, and
 * the built-in functions (`and or not eq ne lt le gt ge len index slice
 * print printf println`) plus Ollama's (`json currentDate yesterdayDate`).
 * No npm package implements these (those that exist have no `range` or
 * trimming). Fields are looked up the way Ollama's JSON-tagged structs
 * read: `.ToolCalls` finds `tool_calls`. Errors say what Go says, prefixed
 * `template:`.
 */

export class TemplateError extends Error {
  override readonly name = "TemplateError";
}

type Data = unknown;
type Func = (...args: Data[]) => Data;

// ---- lexing: text and actions ------------------------------------------------

interface TextPiece {
  readonly kind: "text";
  readonly text: string;
}
interface ActionPiece {
  readonly kind: "action";
  readonly tokens: Token[];
  readonly source: string;
}

type Token =
  | { readonly type: "field"; readonly path: string[] } // `.`, `.A.B`
  | { readonly type: "variable"; readonly name: string; readonly path: string[] } // `$`, `$x.A`
  | { readonly type: "identifier"; readonly name: string }
  | { readonly type: "string" | "number" | "boolean" | "nil"; readonly value: Data }
  | { readonly type: "punct"; readonly value: "(" | ")" | "|" | ":=" | "=" | "," }
  | { readonly type: "chain"; readonly path: string[] }; // `.A` right after `)`

function split(source: string): (TextPiece | ActionPiece)[] {
  const pieces: (TextPiece | ActionPiece)[] = [];
  let position = 0;
  let trimNext = false;
  while (position <= source.length) {
    const open = source.indexOf("{{", position);
    let text = source.slice(position, open === -1 ? undefined : open);
    if (trimNext) text = text.replace(/^\s+/, "");
    if (open === -1) {
      if (text) pieces.push({ kind: "text", text });
      break;
    }
    let start = open + 2;
    if (/^-\s/.test(source.slice(start, start + 2))) {
      text = text.replace(/\s+$/, "");
      start += 1;
    }
    if (text) pieces.push({ kind: "text", text });
    const close = findClose(source, start);
    if (close === -1) throw new TemplateError(`template: unclosed action`);
    let end = close;
    trimNext = false;
    if (/\s-$/.test(source.slice(close - 2, close))) {
      end = close - 1;
      trimNext = true;
    }
    const inner = source.slice(start, end).trim();
    position = close + 2;
    if (inner.startsWith("/*")) {
      if (!inner.endsWith("*/")) throw new TemplateError("template: unclosed comment");
      continue;
    }
    pieces.push({ kind: "action", tokens: tokenize(inner), source: inner });
  }
  return pieces;
}

/** The `}}` closing an action, skipping quoted strings. */
function findClose(source: string, from: number): number {
  for (let i = from; i < source.length; i++) {
    const char = source[i];
    if (char === '"' || char === "`") {
      const end = char === "`" ? source.indexOf("`", i + 1) : closingQuote(source, i);
      if (end === -1) return -1;
      i = end;
    } else if (char === "}" && source[i + 1] === "}") {
      return i;
    }
  }
  return -1;
}

function closingQuote(source: string, start: number): number {
  for (let i = start + 1; i < source.length; i++) {
    if (source[i] === "\\") i++;
    else if (source[i] === '"') return i;
    else if (source[i] === "\n") return -1;
  }
  return -1;
}

const fieldName = /^[A-Za-z_][A-Za-z0-9_]*/;

function readPath(text: string, at: number): [string[], number] {
  const path: string[] = [];
  let i = at;
  while (text[i] === ".") {
    const name = fieldName.exec(text.slice(i + 1));
    if (!name) break;
    path.push(name[0]);
    i += 1 + name[0].length;
  }
  return [path, i];
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const char = text[i]!;
    const rest = text.slice(i);
    if (/\s/.test(char)) {
      i++;
    } else if (char === "." && (i + 1 >= text.length || !fieldName.test(text.slice(i + 1)))) {
      tokens.push({ type: "field", path: [] });
      i++;
    } else if (char === ".") {
      const [path, end] = readPath(text, i);
      const previous = tokens.at(-1);
      const chained = previous?.type === "punct" && previous.value === ")" && !/\s/.test(text[i - 1] ?? " ");
      tokens.push(chained ? { type: "chain", path } : { type: "field", path });
      i = end;
    } else if (char === "$") {
      const name = /^\$[A-Za-z0-9_]*/.exec(rest)![0];
      const [path, end] = readPath(text, i + name.length);
      tokens.push({ type: "variable", name, path });
      i = end;
    } else if (char === '"') {
      const end = closingQuote(text, i);
      if (end === -1) throw new TemplateError("template: unterminated quoted string");
      tokens.push({ type: "string", value: JSON.parse(text.slice(i, end + 1).replace(/\\'/g, "'")) as string });
      i = end + 1;
    } else if (char === "`") {
      const end = text.indexOf("`", i + 1);
      if (end === -1) throw new TemplateError("template: unterminated raw quoted string");
      tokens.push({ type: "string", value: text.slice(i + 1, end) });
      i = end + 1;
    } else if (rest.startsWith(":=")) {
      tokens.push({ type: "punct", value: ":=" });
      i += 2;
    } else if ("()|=,".includes(char)) {
      tokens.push({ type: "punct", value: char as "(" | ")" | "|" | "=" | "," });
      i++;
    } else if (/^[-+]?[0-9]/.test(rest)) {
      const number = /^[-+]?(0x[0-9a-fA-F]+|[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?)/.exec(rest)![0];
      tokens.push({ type: "number", value: Number(number) });
      i += number.length;
    } else if (char === "'") {
      const end = text.indexOf("'", i + 1);
      tokens.push({ type: "number", value: text.codePointAt(i + 1) });
      i = end + 1;
    } else {
      const word = fieldName.exec(rest);
      if (!word) throw new TemplateError(`template: unexpected "${char}" in command`);
      const name = word[0];
      if (name === "true" || name === "false") tokens.push({ type: "boolean", value: name === "true" });
      else if (name === "nil") tokens.push({ type: "nil", value: null });
      else tokens.push({ type: "identifier", name });
      i += name.length;
    }
  }
  return tokens;
}

// ---- parsing: a tree of nodes -----------------------------------------------

interface Operand {
  readonly token: Token;
  readonly sub?: Pipeline; // a parenthesized pipeline
  readonly chain?: string[]; // fields after `)`
}
type Command = readonly Operand[];
interface Pipeline {
  readonly declare?: { readonly names: string[]; readonly assign: boolean };
  readonly commands: readonly Command[];
}

type Node =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "print"; readonly pipe: Pipeline }
  | { readonly kind: "if" | "with"; readonly pipe: Pipeline; readonly body: Node[]; readonly otherwise: Node[] }
  | { readonly kind: "range"; readonly pipe: Pipeline; readonly body: Node[]; readonly otherwise: Node[] }
  | { readonly kind: "break" | "continue" };

const keywords = new Set(["if", "else", "end", "range", "with", "break", "continue", "define", "template", "block"]);

function parsePipeline(tokens: readonly Token[], functions: ReadonlyMap<string, Func>): Pipeline {
  let rest = tokens;
  let declare: Pipeline["declare"];
  const assignAt = rest.findIndex((token) => token.type === "punct" && (token.value === ":=" || token.value === "="));
  if (assignAt > 0 && rest.slice(0, assignAt).every((token) => token.type === "variable" || (token.type === "punct" && token.value === ","))) {
    const names = rest.slice(0, assignAt).flatMap((token) => (token.type === "variable" ? [token.name] : []));
    declare = { names, assign: (rest[assignAt] as { value: string }).value === "=" };
    rest = rest.slice(assignAt + 1);
  }
  const commands: Command[] = [];
  let current: Operand[] = [];
  for (let i = 0; i < rest.length; i++) {
    const token = rest[i]!;
    if (token.type === "punct" && token.value === "|") {
      commands.push(current);
      current = [];
    } else if (token.type === "punct" && token.value === "(") {
      let depth = 1;
      let j = i + 1;
      for (; j < rest.length && depth > 0; j++) {
        const inner = rest[j]!;
        if (inner.type === "punct" && inner.value === "(") depth++;
        if (inner.type === "punct" && inner.value === ")") depth--;
      }
      if (depth !== 0) throw new TemplateError("template: unclosed left paren");
      const sub = parsePipeline(rest.slice(i + 1, j - 1), functions);
      const next = rest[j];
      const chain = next?.type === "chain" ? next.path : undefined;
      current.push({ token, sub, ...(chain ? { chain } : {}) });
      i = chain ? j : j - 1;
    } else if (token.type === "punct") {
      throw new TemplateError(`template: unexpected "${token.value}" in command`);
    } else {
      if (token.type === "identifier" && !functions.has(token.name)) throw new TemplateError(`template: function "${token.name}" not defined`);
      current.push({ token });
    }
  }
  commands.push(current);
  if (commands.some((command) => command.length === 0)) throw new TemplateError("template: missing value for command");
  return { ...(declare ? { declare } : {}), commands };
}

interface Frame {
  readonly kind: "root" | "if" | "with" | "range";
  readonly node?: Extract<Node, { body: Node[] }>;
  /** Where new nodes go: the body, or after `else` the alternative. */
  list: Node[];
  /** `else if` chains close with the one `end`. */
  readonly closesWithParent: boolean;
}

function parse(source: string, functions: ReadonlyMap<string, Func>): Node[] {
  const root: Node[] = [];
  const stack: Frame[] = [{ kind: "root", list: root, closesWithParent: false }];
  const top = () => stack.at(-1)!;
  const open = (kind: "if" | "with" | "range", tokens: Token[], closesWithParent: boolean) => {
    const node = { kind, pipe: parsePipeline(tokens, functions), body: [] as Node[], otherwise: [] as Node[] };
    top().list.push(node);
    stack.push({ kind, node, list: node.body, closesWithParent });
  };
  for (const piece of split(source)) {
    if (piece.kind === "text") {
      top().list.push({ kind: "text", text: piece.text });
      continue;
    }
    const [first, ...rest] = piece.tokens;
    const keyword = first?.type === "identifier" && keywords.has(first.name) ? first.name : undefined;
    switch (keyword) {
      case "if":
      case "with":
      case "range":
        if (rest.length === 0) throw new TemplateError(`template: missing value for ${keyword}`);
        open(keyword, rest, false);
        break;
      case "else": {
        const frame = top();
        if (frame.kind === "root" || frame.list === frame.node!.otherwise) throw new TemplateError("template: unexpected {{else}}");
        frame.list = frame.node!.otherwise;
        const [chained, ...condition] = rest;
        if (chained?.type === "identifier" && (chained.name === "if" || chained.name === "with")) open(chained.name, condition, true);
        break;
      }
      case "end": {
        let frame = stack.pop()!;
        while (frame.closesWithParent) frame = stack.pop()!;
        if (frame.kind === "root") throw new TemplateError("template: unexpected {{end}}");
        break;
      }
      case "break":
      case "continue":
        if (!stack.some((frame) => frame.kind === "range")) throw new TemplateError(`template: {{${keyword}}} outside {{range}}`);
        top().list.push({ kind: keyword });
        break;
      case "define":
      case "template":
      case "block":
        throw new TemplateError(`template: {{${keyword}}} is not supported`);
      default:
        if (piece.tokens.length === 0) throw new TemplateError("template: missing value for command");
        top().list.push({ kind: "print", pipe: parsePipeline(piece.tokens, functions) });
    }
  }
  if (stack.length > 1) throw new TemplateError(`template: unexpected EOF`);
  return root;
}

// ---- evaluation ---------------------------------------------------------------

class Break {}
class Continue {}
/** Ends a render early: Ollama cuts a legacy template after its `.Response`. */
class Cut {}

/** Go's truth: false, 0, nil, and empty strings, slices and maps are false. */
export function truthy(value: Data): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === "") return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === "object") return Object.keys(value).length > 0 || typeof (value as { toJSON?: unknown }).toJSON === "function";
  return true;
}

const normalise = (name: string) => name.replace(/_/g, "").toLowerCase();

/** A field of a map or an object: the exact key, else its JSON spelling (`ToolCalls` → `tool_calls`). */
function field(value: Data, name: string): Data {
  if (value === null || typeof value !== "object") return undefined;
  const record = value as Record<string, unknown>;
  if (Object.hasOwn(record, name)) return record[name];
  const wanted = normalise(name);
  const key = Object.keys(record).find((candidate) => normalise(candidate) === wanted);
  return key === undefined ? undefined : record[key];
}

/** How Go's fmt prints a value in `{{ }}`. */
export function goString(value: Data): string {
  if (value === undefined || value === null) return "<no value>";
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return `[${value.map(goString).join(" ")}]`;
  if (typeof value === "object") return `map[${Object.entries(value).map(([key, item]) => `${key}:${goString(item)}`).join(" ")}]`;
  return String(value);
}

function compare(name: string, a: Data, b: Data): number {
  if (typeof a !== typeof b || (typeof a !== "number" && typeof a !== "string")) throw new TemplateError(`template: error calling ${name}: incompatible types for comparison`);
  return a < (b as typeof a) ? -1 : a > (b as typeof a) ? 1 : 0;
}

function length(value: Data): number {
  if (typeof value === "string" || Array.isArray(value)) return value.length;
  if (value && typeof value === "object") return Object.keys(value).length;
  throw new TemplateError(`template: error calling len: len of ${typeof value}`);
}

function formatDate(date: Date): string {
  return `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, "0")}-${String(date.getDate()).padStart(2, "0")}`;
}

function printf(format: Data, ...args: Data[]): string {
  let index = 0;
  return String(format).replace(/%([-+# 0]*\d*(?:\.\d+)?)([svdqtfgx%])/g, (_match, _flags: string, verb: string) => {
    if (verb === "%") return "%";
    const arg = args[index++];
    if (verb === "q") return JSON.stringify(goString(arg));
    if (verb === "x") return typeof arg === "number" ? arg.toString(16) : Buffer.from(goString(arg)).toString("hex");
    return goString(arg);
  });
}

const builtins: ReadonlyMap<string, Func> = new Map<string, Func>([
  ["not", (value) => !truthy(value)],
  ["len", length],
  ["index", (value, ...keys) => keys.reduce((current, key) => (Array.isArray(current) ? current[key as number] : field(current, String(key))), value)],
  ["slice", (value, from = 0, to) => (typeof value === "string" || Array.isArray(value) ? value.slice(from as number, to as number | undefined) : undefined)],
  ["eq", (a, ...others) => others.some((b) => a === b || (a == null && b == null))],
  ["ne", (a, b) => a !== b],
  ["lt", (a, b) => compare("lt", a, b) < 0],
  ["le", (a, b) => compare("le", a, b) <= 0],
  ["gt", (a, b) => compare("gt", a, b) > 0],
  ["ge", (a, b) => compare("ge", a, b) >= 0],
  ["print", (...args) => args.map(goString).join("")],
  ["println", (...args) => `${args.map(goString).join(" ")}\n`],
  ["printf", printf],
  // Ollama's own (template/template.go).
  ["json", (value) => JSON.stringify(value ?? null)],
  ["currentDate", () => formatDate(new Date())],
  ["yesterdayDate", () => formatDate(new Date(Date.now() - 86_400_000))],
]);
/** `and` and `or` see their operands unevaluated: they stop at the first that decides. */
const lazy = new Set(["and", "or"]);
const functionNames: ReadonlyMap<string, Func> = new Map([...builtins, ["and", () => undefined], ["or", () => undefined]]);

type Scope = Map<string, Data>[];

function lookupVariable(scope: Scope, name: string): Data {
  for (let i = scope.length - 1; i >= 0; i--) if (scope[i]!.has(name)) return scope[i]!.get(name);
  throw new TemplateError(`template: undefined variable: ${name}`);
}

function evalOperand(operand: Operand, dot: Data, scope: Scope): Data {
  const { token } = operand;
  if (operand.sub) return (operand.chain ?? []).reduce(field, evalPipeline(operand.sub, dot, scope));
  switch (token.type) {
    case "field":
      return token.path.reduce(field, dot);
    case "variable":
      return token.path.reduce(field, lookupVariable(scope, token.name));
    case "identifier":
      return callFunction(token.name, [], dot, scope, undefined);
    case "chain":
      throw new TemplateError("template: unexpected field chain");
    case "punct":
      throw new TemplateError(`template: unexpected "${token.value}"`);
    default:
      return token.value;
  }
}

function callFunction(name: string, args: readonly Operand[], dot: Data, scope: Scope, piped: { value: Data } | undefined): Data {
  if (lazy.has(name)) {
    const thunks = [...args.map((arg) => () => evalOperand(arg, dot, scope)), ...(piped ? [() => piped.value] : [])];
    if (thunks.length === 0) throw new TemplateError(`template: wrong number of args for ${name}`);
    let value: Data;
    for (const thunk of thunks) {
      value = thunk();
      if (name === "and" ? !truthy(value) : truthy(value)) return value;
    }
    return value;
  }
  const values = [...args.map((arg) => evalOperand(arg, dot, scope)), ...(piped ? [piped.value] : [])];
  return builtins.get(name)!(...values);
}

function evalPipeline(pipe: Pipeline, dot: Data, scope: Scope): Data {
  let piped: { value: Data } | undefined;
  for (const [first, ...args] of pipe.commands) {
    const value =
      first!.token.type === "identifier" && !first!.sub
        ? callFunction(first!.token.name, args, dot, scope, piped)
        : args.length === 0 && !piped
          ? evalOperand(first!, dot, scope)
          : (() => {
              throw new TemplateError(`template: can't give argument to non-function ${describe(first!)}`);
            })();
    piped = { value };
  }
  const result = piped!.value;
  if (pipe.declare) {
    const [name] = pipe.declare.names;
    if (pipe.declare.assign) {
      const frame = [...scope].reverse().find((candidate) => candidate.has(name!));
      if (!frame) throw new TemplateError(`template: undefined variable: ${name}`);
      frame.set(name!, result);
    } else {
      scope.at(-1)!.set(name!, result);
    }
  }
  return result;
}

function describe(operand: Operand): string {
  const { token } = operand;
  if (token.type === "field") return `.${token.path.join(".")}`;
  if (token.type === "variable") return token.name;
  return "value";
}

/** Print nodes reading `.Response`, in templates rendered up to it. */
let cutAfterResponse: ReadonlySet<Node> = new Set();

function execute(nodes: readonly Node[], dot: Data, scope: Scope, out: string[]): void {
  for (const node of nodes) {
    switch (node.kind) {
      case "text":
        out.push(node.text);
        break;
      case "print": {
        const value = evalPipeline(node.pipe, dot, scope);
        if (!node.pipe.declare) out.push(goString(value));
        if (cutAfterResponse.has(node)) throw new Cut();
        break;
      }
      case "if":
      case "with": {
        scope.push(new Map());
        const value = evalPipeline(node.pipe, dot, scope);
        try {
          if (truthy(value)) execute(node.body, node.kind === "with" ? value : dot, scope, out);
          else execute(node.otherwise, dot, scope, out);
        } finally {
          scope.pop();
        }
        break;
      }
      case "range":
        executeRange(node, dot, scope, out);
        break;
      case "break":
        throw new Break();
      case "continue":
        throw new Continue();
    }
  }
}

function executeRange(node: Extract<Node, { kind: "range" }>, dot: Data, scope: Scope, out: string[]): void {
  const { declare, commands } = node.pipe;
  scope.push(new Map());
  try {
    const collection = evalPipeline({ commands }, dot, scope);
    const entries: [Data, Data][] = Array.isArray(collection)
      ? collection.map((item, index) => [index, item])
      : typeof collection === "number"
        ? Array.from({ length: collection }, (_, index) => [index, index])
        : collection && typeof collection === "object"
          ? Object.keys(collection).sort().map((key) => [key, (collection as Record<string, unknown>)[key]])
          : [];
    if (entries.length === 0) {
      execute(node.otherwise, dot, scope, out);
      return;
    }
    for (const [key, item] of entries) {
      const names = declare?.names ?? [];
      if (names.length === 1) scope.at(-1)!.set(names[0]!, item);
      if (names.length === 2) {
        scope.at(-1)!.set(names[0]!, key);
        scope.at(-1)!.set(names[1]!, item);
      }
      try {
        execute(node.body, item, scope, out);
      } catch (signal) {
        if (signal instanceof Break) break;
        if (!(signal instanceof Continue)) throw signal;
      }
    }
  } finally {
    scope.pop();
  }
}

/** A parsed template. */
export interface GoTemplate {
  /** Identifiers it reads, lowercased (Ollama's `Vars`: is `.Messages` among them?). */
  readonly variables: ReadonlySet<string>;
  /**
   * @param options.upToResponse stop after the first action that prints `.Response` (the turn the model completes)
   * @throws TemplateError on a failure while rendering
   */
  render(data: Data, options?: { readonly upToResponse?: boolean }): string;
}

/**
 * @throws TemplateError when the text is not a template (unclosed action or
 *   block, an undefined function), in Go's words
 * @example parseGoTemplate("{{ range .Messages }}{{ .Role }}: {{ .Content }}\n{{ end }}").render({ Messages: [...] })
 */
export function parseGoTemplate(source: string): GoTemplate {
  const tree = parse(source, functionNames);
  const variables = new Set<string>();
  const visit = (nodes: readonly Node[]) => {
    for (const node of nodes) {
      if (node.kind === "print" || node.kind === "if" || node.kind === "with" || node.kind === "range") collect(node.pipe);
      if ("body" in node) {
        visit(node.body);
        visit(node.otherwise);
      }
    }
  };
  const collect = (pipe: Pipeline) => {
    for (const command of pipe.commands) {
      for (const operand of command) {
        if (operand.sub) collect(operand.sub);
        const { token } = operand;
        if (token.type === "field" || token.type === "variable") for (const name of token.path) variables.add(name.toLowerCase());
      }
    }
  };
  visit(tree);
  const responsePrints = new Set<Node>();
  const findResponse = (nodes: readonly Node[]) => {
    for (const node of nodes) {
      if (node.kind === "print" && node.pipe.commands.some((command) => command.some(({ token }) => token.type === "field" && token.path.includes("Response")))) {
        responsePrints.add(node);
      }
      if ("body" in node) {
        findResponse(node.body);
        findResponse(node.otherwise);
      }
    }
  };
  findResponse(tree);
  return {
    variables,
    render(data, options = {}) {
      const out: string[] = [];
      cutAfterResponse = options.upToResponse ? responsePrints : new Set();
      try {
        execute(tree, data, [new Map([["$", data]])], out);
      } catch (signal) {
        if (!(signal instanceof Cut)) throw signal;
      } finally {
        cutAfterResponse = new Set();
      }
      return out.join("");
    },
  };
}
