/**
 * Ollama's Modelfile text (parser/parser.go): written for `/api/show`'s
 * `modelfile`, and read back into a create request, so what show prints
 * builds the same model again.
 */

/** What a Modelfile says, in the words of `/api/create`. */
export interface ModelfileContent {
  readonly from: string;
  readonly template?: string;
  readonly system?: string;
  /** As stored: a list value is one PARAMETER line per item. */
  readonly parameters?: Readonly<Record<string, unknown>>;
  readonly messages?: readonly { readonly role: string; readonly content: string }[];
  readonly licenses?: readonly string[];
}

/**
 * Ollama's order: FROM, TEMPLATE, SYSTEM, PARAMETER, LICENSE, MESSAGE.
 *
 * @example formatModelfile({ from: "/blobs/sha256-…", system: "Be brief." })
 * // "FROM /blobs/sha256-…\nSYSTEM Be brief.\n"
 */
export function formatModelfile(content: ModelfileContent): string {
  const lines = [`FROM ${content.from}`];
  if (content.template !== undefined) lines.push(`TEMPLATE ${quote(content.template)}`);
  if (content.system !== undefined) lines.push(`SYSTEM ${quote(content.system)}`);
  for (const [name, value] of Object.entries(content.parameters ?? {})) {
    for (const item of Array.isArray(value) ? value : [value]) lines.push(`PARAMETER ${name} ${quote(String(item))}`);
  }
  for (const license of content.licenses ?? []) lines.push(`LICENSE ${quote(license)}`);
  for (const message of content.messages ?? []) lines.push(`MESSAGE ${message.role} ${quote(message.content)}`);
  return `${lines.join("\n")}\n`;
}

/** Ollama's `quote`: multi-line or space-edged text in quotes, triple when it holds one. */
function quote(text: string): string {
  if (!text.includes("\n") && !text.startsWith(" ") && !text.endsWith(" ")) return text;
  return text.includes('"') ? `"""${text}"""` : `"${text}"`;
}

/** A Modelfile that cannot be read; maps to a 400. */
export class ModelfileSyntaxError extends Error {
  override readonly name = "ModelfileSyntaxError";
}

/** Parameters Ollama reads as lists: repeated lines add items. */
const listParameters = new Set(["stop"]);

/**
 * @throws ModelfileSyntaxError for an unknown instruction, an unterminated quote, or no FROM
 */
export function parseModelfile(text: string): ModelfileContent {
  let from: string | undefined;
  let template: string | undefined;
  let system: string | undefined;
  const parameters: Record<string, unknown> = {};
  const messages: { role: string; content: string }[] = [];
  const licenses: string[] = [];
  let rest = text;
  while (rest.length > 0) {
    const line = /^[ \t]*(\S+)[ \t]*/.exec(rest);
    const newline = /^\s*\n/.exec(rest);
    if (newline) {
      rest = rest.slice(newline[0].length);
      continue;
    }
    if (!line) break;
    const word = line[1]!;
    rest = rest.slice(line[0].length);
    if (word.startsWith("#")) {
      rest = rest.slice(lineEnd(rest));
      continue;
    }
    const instruction = word.toUpperCase();
    let name = "";
    if (instruction === "PARAMETER" || instruction === "MESSAGE") {
      const argument = /^(\S+)[ \t]*/.exec(rest);
      if (!argument) throw new ModelfileSyntaxError(`${instruction} needs a name and a value`);
      name = argument[1]!;
      rest = rest.slice(argument[0].length);
    }
    const [value, after] = readValue(rest);
    rest = after;
    switch (instruction) {
      case "FROM":
        from = value;
        break;
      case "TEMPLATE":
        template = value;
        break;
      case "SYSTEM":
        system = value;
        break;
      case "LICENSE":
        licenses.push(value);
        break;
      case "MESSAGE":
        messages.push({ role: name, content: value });
        break;
      case "PARAMETER": {
        const typed = parameterValue(value);
        parameters[name] = listParameters.has(name) ? [...((parameters[name] as unknown[] | undefined) ?? []), typed] : typed;
        break;
      }
      default:
        throw new ModelfileSyntaxError(`unknown instruction: ${word}`);
    }
  }
  if (from === undefined) throw new ModelfileSyntaxError("no FROM line");
  return {
    from,
    ...(template === undefined ? {} : { template }),
    ...(system === undefined ? {} : { system }),
    ...(Object.keys(parameters).length ? { parameters } : {}),
    ...(messages.length ? { messages } : {}),
    ...(licenses.length ? { licenses } : {}),
  };
}

function lineEnd(text: string): number {
  const end = text.indexOf("\n");
  return end === -1 ? text.length : end + 1;
}

/** A value: `"""…"""` or `"…"` (may span lines), else the rest of the line. */
function readValue(text: string): [string, string] {
  for (const mark of ['"""', '"']) {
    if (!text.startsWith(mark)) continue;
    const end = text.indexOf(mark, mark.length);
    if (end === -1) throw new ModelfileSyntaxError(`unterminated ${mark}`);
    return [text.slice(mark.length, end), text.slice(end + mark.length)];
  }
  const end = lineEnd(text);
  return [text.slice(0, end).trimEnd(), text.slice(end)];
}

/** Numbers and booleans are typed, as Ollama's options are. */
function parameterValue(text: string): unknown {
  if (text === "true" || text === "false") return text === "true";
  const number = Number(text);
  return text.trim() !== "" && Number.isFinite(number) ? number : text;
}
