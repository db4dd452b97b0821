/**
 * Ollama's model parameters (`options` of `/api/chat`) as typed on a command
 * line: `--parameter num_predict=8` or `/set parameter temperature 0.2`.
 */

type ParameterKind = "integer" | "number" | "boolean" | "strings";

const parameterKinds: Readonly<Record<string, ParameterKind>> = {
  num_ctx: "integer",
  num_predict: "integer",
  num_keep: "integer",
  num_batch: "integer",
  num_gpu: "integer",
  num_thread: "integer",
  main_gpu: "integer",
  seed: "integer",
  top_k: "integer",
  repeat_last_n: "integer",
  temperature: "number",
  top_p: "number",
  min_p: "number",
  typical_p: "number",
  repeat_penalty: "number",
  presence_penalty: "number",
  frequency_penalty: "number",
  use_mmap: "boolean",
  stop: "strings",
};

export type ParameterValue = number | boolean | string[];
export type ModelParameters = Readonly<Record<string, ParameterValue>>;

/** The names `/?` lists. */
export const parameterNames = Object.keys(parameterKinds);

/**
 * Adds one parameter to `parameters`; `stop` values accumulate, as in a Modelfile.
 *
 * @example setParameter({}, "num_predict", "8") // { num_predict: 8 }
 * @throws Error naming the parameter when it is unknown or its value is not of its kind
 */
export function setParameter(parameters: ModelParameters, name: string, value: string): ModelParameters {
  const kind = Object.hasOwn(parameterKinds, name) ? parameterKinds[name] : undefined;
  if (!kind) throw new Error(`unknown parameter ${JSON.stringify(name)}: one of ${parameterNames.join(", ")}`);
  const invalid = () => new Error(`parameter ${name} must be ${kind === "integer" ? "an integer" : `a ${kind}`}, not ${JSON.stringify(value)}`);
  switch (kind) {
    case "integer":
      if (!/^-?\d+$/.test(value.trim())) throw invalid();
      return { ...parameters, [name]: Number(value) };
    case "number":
      if (!value.trim() || !Number.isFinite(Number(value))) throw invalid();
      return { ...parameters, [name]: Number(value) };
    case "boolean":
      if (value !== "true" && value !== "false") throw invalid();
      return { ...parameters, [name]: value === "true" };
    case "strings": {
      const previous = parameters[name];
      return { ...parameters, [name]: [...(Array.isArray(previous) ? previous : []), value] };
    }
  }
}
