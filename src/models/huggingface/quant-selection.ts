/**
 * Which GGUF files of a Hugging Face repository a quantization tag means:
 * `hf.co/org/repo:Q8_0` the Q8_0 file (or its shards), `:latest` Q4_K_M,
 * else the best quantization the repository has.
 */
import type { HubFile } from "./hub-client.ts";

/** The default first, then by how well each keeps quality for its size; unknown ones last. */
const preference = [
  "Q4_K_M",
  "Q4_K_S",
  "Q5_K_M",
  "Q5_K_S",
  "Q4_0",
  "IQ4_XS",
  "IQ4_NL",
  "Q6_K",
  "Q8_0",
  "Q5_0",
  "Q3_K_L",
  "Q3_K_M",
  "Q3_K_S",
  "Q2_K",
  "BF16",
  "F16",
  "F32",
];

const quantPattern = /(?:^|[-_./])((?:UD-)?(?:I?Q\d(?:_[A-Z0-9]+)*|B?F16|F32|MXFP4))(?=[-_./]|$)/i;
const shardPattern = /-(\d{5})-of-(\d{5})\.gguf$/i;

/** No GGUF file in the repository matches the tag. Maps to a 404. */
export class QuantizationNotFoundError extends Error {
  override readonly name = "QuantizationNotFoundError";
}

/** A quantization's files: one, or the shards in order. */
export interface QuantizationChoice {
  readonly quantization: string;
  readonly files: readonly [HubFile, ...HubFile[]];
}

/**
 * @throws QuantizationNotFoundError
 */
export function selectQuantization(repository: string, files: readonly HubFile[], tag: string): QuantizationChoice {
  const byQuant = new Map<string, HubFile[]>();
  for (const file of files) {
    const name = file.path.split("/").at(-1)!;
    if (!name.toLowerCase().endsWith(".gguf") || /mmproj/i.test(name)) continue;
    // A folder named for the quantization (`Q8_0/model-00001-of-00002.gguf`) counts too.
    const quant = (quantPattern.exec(name.replace(/\.gguf$/i, "")) ?? quantPattern.exec(file.path))?.[1]?.toUpperCase() ?? "";
    byQuant.set(quant, [...(byQuant.get(quant) ?? []), file]);
  }
  if (byQuant.size === 0) throw new QuantizationNotFoundError(`${repository} has no GGUF files`);

  const wanted = tag === "latest" ? undefined : tag.toUpperCase();
  const quant = wanted ?? bestQuantization([...byQuant.keys()]);
  const chosen = byQuant.get(quant);
  if (!chosen) {
    const available = [...byQuant.keys()].filter(Boolean).sort().join(", ");
    throw new QuantizationNotFoundError(`${repository} has no GGUF file for ${tag}${available ? ` (it has ${available})` : ""}`);
  }
  const [first, ...rest] = shards(chosen);
  return { quantization: quant, files: [first!, ...rest] };
}

function bestQuantization(quants: string[]): string {
  const rank = (quant: string) => {
    const index = preference.indexOf(quant.replace(/^UD-/, ""));
    return index === -1 ? preference.length : index;
  };
  return [...quants].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))[0]!;
}

/** Shards by number; several unsharded files of one quantization: the shortest name (the plain one). */
function shards(files: HubFile[]): HubFile[] {
  const sharded = files.filter((file) => shardPattern.test(file.path));
  if (sharded.length > 0) {
    return sharded.sort((a, b) => Number(shardPattern.exec(a.path)![1]) - Number(shardPattern.exec(b.path)![1]));
  }
  return [[...files].sort((a, b) => a.path.length - b.path.length || a.path.localeCompare(b.path))[0]!];
}
