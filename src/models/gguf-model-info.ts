/**
 * A GGUF header as Ollama's `/api/show` shows it (server/routes.go
 * getModelData): every key/value but the name and the chat template, arrays
 * longer than five items emptied unless `verbose`, the parameter count added,
 * and with `verbose` the tensors (name, type, shape). Read from the file when
 * asked: vocabularies never stay in memory. `general.basename`, which editors
 * show as the model's name, falls back to `general.name` when the file has none.
 */
import { arrayLength, ggmlTypes, readGGUF, type GGUFArray, type GGUFValue } from "./gguf.ts";

export interface GGUFModelInfoView {
  readonly model_info: Record<string, unknown>;
  readonly tensors?: { name: string; type: string; shape: number[] }[];
}

/** Ollama's cut-off: longer arrays are shown empty unless verbose. */
const maxTerseArrayItems = 5;

export async function ggufModelInfo(path: string, verbose: boolean): Promise<GGUFModelInfoView> {
  const file = await readGGUF(path);
  const info: Record<string, unknown> = {};
  for (const [key, entry] of file.metadata) {
    if (key === "general.name" || key === "tokenizer.chat_template") continue;
    info[key] = jsonValue(entry.value, verbose);
  }
  const name = file.metadata.get("general.name")?.value;
  if (info["general.basename"] === undefined && typeof name === "string") info["general.basename"] = name;
  info["general.parameter_count"] ??= file.tensors.reduce((sum, tensor) => sum + tensor.dims.reduce((product, dim) => product * dim, 1), 0);
  if (!verbose) return { model_info: info };
  const tensors = file.tensors.map((tensor) => ({ name: tensor.name, type: ggmlTypes.get(tensor.type)?.name ?? String(tensor.type), shape: tensor.dims }));
  return { model_info: info, tensors };
}

function jsonValue(value: GGUFValue, verbose: boolean): unknown {
  if (typeof value === "bigint") return Number(value);
  if (typeof value !== "object") return value;
  return arrayItems(value, verbose);
}

function arrayItems(array: GGUFArray, verbose: boolean): unknown[] {
  if (!verbose && arrayLength(array) > maxTerseArrayItems) return [];
  return Array.from(array.items as ArrayLike<unknown>, (item) =>
    typeof item === "bigint" ? Number(item) : typeof item === "object" && item !== null ? arrayItems(item as GGUFArray, verbose) : item,
  );
}
