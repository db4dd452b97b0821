/**
 * `/api/tags`, `/api/show` and `/api/ps`: Ollama's views of the models and the
 * loaded runners, drawn from the engines' `GET /v1/models` (OpenAI's list with
 * the GGUF facts added) and `GET /ps`.
 */
import type { Context } from "hono";
import * as v from "valibot";
import { HTTPException } from "hono/http-exception";
import { parseGoTemplate } from "../templates/go-template.ts";
import type { EngineRunner } from "../engines/engines.ts";
import type { OllamaEngines } from "./ollama-engines.ts";
import type { ModelsFetch } from "./model-management/model-management-app.ts";
import { ModelEntries, readRequestBody, requiredModel } from "./request-body.ts";

const EngineModelSchema = v.object({
  id: v.string(),
  created: v.number(),
  digest: v.string(),
  size: v.nullish(v.number()),
  architecture: v.nullish(v.string()),
  parameters: v.nullish(v.number()),
  quantization: v.nullish(v.string()),
  context_length: v.nullish(v.number()),
  embedding_length: v.nullish(v.number()),
  capabilities: v.array(v.string()),
  template: v.nullish(v.string()),
});

const ShowRequestSchema = v.object({ ...ModelEntries, verbose: v.nullish(v.boolean()) });

/** What the model manager stores of a model (`GET /models/{name}?metadata=1`). */
const StoredModelSchema = v.object({
  template: v.nullish(v.string()),
  template_format: v.nullish(v.string()),
  system: v.nullish(v.string()),
  parameters: v.nullish(v.record(v.string(), v.unknown())),
  messages: v.nullish(v.array(v.object({ role: v.string(), content: v.string() }))),
  license: v.array(v.string()),
  modelfile: v.string(),
  model_info: v.nullish(v.record(v.string(), v.unknown())),
  tensors: v.nullish(v.array(v.unknown())),
});
type StoredModel = v.InferOutput<typeof StoredModelSchema>;

type EngineModel = v.InferOutput<typeof EngineModelSchema>;

/** Ollama shows a runner kept forever as expiring in the far future. */
const forever = new Date("2318-01-01T00:00:00.000Z");

export function createModelViews(engines: OllamaEngines, models?: ModelsFetch) {
  const listModels = () => engines.models(EngineModelSchema);

  /** Undefined for a model the store does not hold (an external engine's). */
  const storedModel = async (name: string, verbose: boolean, signal: AbortSignal): Promise<StoredModel | undefined> => {
    if (!models) return undefined;
    const query = new URLSearchParams({ metadata: "1", verbose: verbose ? "1" : "0" });
    const response = await models(new Request(`http://models.internal/${encodeURIComponent(name)}?${query}`, { signal }));
    if (response.status === 404) return undefined;
    const parsed = v.safeParse(StoredModelSchema, await response.json());
    if (!response.ok || !parsed.success) throw new HTTPException(500, { message: `the model store could not describe ${name}` });
    return parsed.output;
  };

  return {
    async tags(c: Context): Promise<Response> {
      const models = await listModels();
      return c.json({
        models: models.map((model) => ({
          name: model.id,
          model: model.id,
          modified_at: modifiedAt(model),
          size: model.size ?? 0,
          digest: digest(model.digest),
          details: { ...details(model), ...(model.context_length == null ? {} : { context_length: model.context_length }) },
          capabilities: model.capabilities,
        })),
      });
    },

    async show(c: Context): Promise<Response> {
      const request = await readRequestBody(c.req, ShowRequestSchema);
      const name = requiredModel(request);
      const signal = c.req.raw.signal;
      const model = await engines.model(name, EngineModelSchema);
      const stored = await storedModel(name, request.verbose ?? false, signal);
      const architecture = model.architecture ?? "unknown";
      // The prompt template in use: the Go template layer when there is one (the gateway renders it), else the engine's.
      const goTemplate = stored?.template_format === "go" ? (stored.template ?? undefined) : undefined;
      return c.json({
        license: stored?.license.join("\n") ?? "",
        modelfile: modelfileText(model.id, stored),
        parameters: parametersText(stored?.parameters ?? {}),
        template: goTemplate ?? model.template ?? "",
        ...(stored?.system ? { system: stored.system } : {}),
        ...(stored?.messages?.length ? { messages: stored.messages } : {}),
        details: details(model),
        model_info: stored?.model_info ?? {
          "general.architecture": architecture,
          ...(model.parameters == null ? {} : { "general.parameter_count": model.parameters }),
          ...(model.context_length == null ? {} : { [`${architecture}.context_length`]: model.context_length }),
          ...(model.embedding_length == null ? {} : { [`${architecture}.embedding_length`]: model.embedding_length }),
        },
        ...(stored?.tensors ? { tensors: stored.tensors } : {}),
        capabilities: withTemplateCapabilities(model.capabilities, goTemplate),
        modified_at: modifiedAt(model),
      });
    },

    async ps(c: Context): Promise<Response> {
      const [runners, models] = [engines.runners(), await listModels()];
      const byName = new Map(models.map((model) => [model.id, model]));
      return c.json({
        models: oneEntryPerModel(runners.filter((runner) => !runner.stopping))
          .map((runner) => {
            // A model untagged while its runner lives is still shown, from what the runner knows.
            const model = byName.get(runner.model_name);
            return {
              name: runner.model_name,
              model: runner.model_name,
              size: runner.size + runner.vram,
              digest: digest(runner.model_id),
              details: details(model),
              expires_at: rfc3339(expiry(runner)),
              size_vram: runner.vram,
              context_length: runner.context_size ?? model?.context_length ?? 0,
            };
          }),
      });
    },
  };
}


/**
 * Ollama runs a model once; the engines may run it in several modes (chat
 * and embeddings) at once, and at several context sizes (a request's
 * `num_ctx` has a runner of its own). A model is listed once per context
 * size of its completion runners, the other modes' memory and expiry folded
 * into its first entry.
 */
function oneEntryPerModel(runners: readonly EngineRunner[]): EngineRunner[] {
  const entries = new Map<string, EngineRunner>();
  const completionFirst = [...runners.filter((r) => r.mode === "completion"), ...runners.filter((r) => r.mode !== "completion")];
  for (const runner of completionFirst) {
    const key =
      runner.mode === "completion"
        ? `${runner.model_name}\0${runner.context_size}`
        : ([...entries.keys()].find((existing) => existing.startsWith(`${runner.model_name}\0`)) ?? `${runner.model_name}\0`);
    const seen = entries.get(key);
    entries.set(key, seen ? folded(seen, runner) : runner);
  }
  return [...entries.values()];
}

/** `main`, with `other`'s memory and expiry added in. */
function folded(main: EngineRunner, other: EngineRunner): EngineRunner {
  return {
    ...main,
    size: main.size + other.size,
    vram: main.vram + other.vram,
    expires_at: latestExpiry(main, other),
    keep_alive_ms: main.keep_alive_ms < 0 || other.keep_alive_ms < 0 ? -1 : Math.max(main.keep_alive_ms, other.keep_alive_ms),
  };
}

/** null (busy, not yet counting down) outlasts any date. */
function latestExpiry(a: EngineRunner, b: EngineRunner): string | null {
  if (!a.expires_at || !b.expires_at) return null;
  return Date.parse(a.expires_at) >= Date.parse(b.expires_at) ? a.expires_at : b.expires_at;
}

/** `ollama show --modelfile`: Ollama's header, then what the store wrote. */
function modelfileText(name: string, stored: StoredModel | undefined): string {
  const header = `# Modelfile generated by "ollama show"\n# To build a new Modelfile based on this, replace FROM with:\n# FROM ${name}\n\n`;
  return header + (stored?.modelfile ?? `FROM ${name}\n`);
}

/**
 * Ollama's `parameters` text: a line per value (a list gives one per item),
 * the name padded to 30, the value as Go's `%#v` writes it (strings quoted).
 */
export function parametersText(parameters: Readonly<Record<string, unknown>>): string {
  return Object.keys(parameters)
    .sort()
    .flatMap((name) => {
      const value = parameters[name];
      return (Array.isArray(value) ? value : [value]).map((item) => `${name.padEnd(30)} ${typeof item === "string" ? JSON.stringify(item) : String(item)}`);
    })
    .join("\n");
}

/** A Go template reading `.Suffix` makes the model fill in the middle; one reading `.Tools` calls tools (Ollama's capabilities). */
function withTemplateCapabilities(capabilities: readonly string[], goTemplate: string | undefined): string[] {
  if (goTemplate === undefined) return [...capabilities];
  let variables: ReadonlySet<string>;
  try {
    variables = parseGoTemplate(goTemplate).variables;
  } catch {
    return [...capabilities];
  }
  const added = [...(variables.has("tools") ? ["tools"] : []), ...(variables.has("suffix") ? ["insert"] : [])];
  return [...new Set([...capabilities, ...added])];
}

/** A busy runner's idle clock has not started: it expires a keep-alive after now at the earliest. */
function expiry(runner: EngineRunner): Date {
  if (runner.expires_at) return new Date(runner.expires_at);
  return runner.keep_alive_ms < 0 ? forever : new Date(Date.now() + runner.keep_alive_ms);
}

/**
 * RFC 3339 with a numeric offset, as Ollama (Go) writes times: Python's
 * `datetime.fromisoformat` before 3.11 (Open WebUI) refuses a `Z`.
 */
function rfc3339(date: Date): string {
  return date.toISOString().replace(/Z$/, "+00:00");
}

function details(model: EngineModel | undefined) {
  return {
    parent_model: "",
    format: "gguf",
    family: model?.architecture ?? "",
    families: model?.architecture ? [model.architecture] : null,
    parameter_size: model?.parameters == null ? "" : parameterSize(model.parameters),
    quantization_level: model?.quantization ?? "",
  };
}

function modifiedAt(model: EngineModel): string {
  return rfc3339(new Date(model.created * 1000));
}

/** Ollama's digests are bare hex. */
function digest(id: string): string {
  return id.replace(/^sha256:/, "");
}

/**
 * As Ollama writes parameter counts.
 *
 * @example parameterSize(494_032_768) // "494.03M"
 * @example parameterSize(8_030_261_248) // "8.0B"
 */
export function parameterSize(count: number): string {
  if (count >= 1e9) return `${(count / 1e9).toFixed(1)}B`;
  if (count >= 1e6) return `${(count / 1e6).toFixed(2)}M`;
  if (count >= 1e3) return `${(count / 1e3).toFixed(2)}K`;
  return String(count);
}
