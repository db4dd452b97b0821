/**
 * The model the editor replays pull: the tiny chat fixture's weights in
 * Ollama's layout with a code model's Modelfile, a fill-in-the-middle Go
 * template (CodeLlama's `<PRE> … <SUF> … <MID>`) and its parameters.
 */
import { readFile } from "node:fs/promises";
import { ensureFixtureModels } from "../../../fixtures/generate.ts";
import { pushOllamaLayoutModel } from "../../support/ollama-layout.ts";

export const fimTemplate = "{{- if .Suffix }}<PRE> {{ .Prompt }} <SUF>{{ .Suffix }} <MID>\n{{- else }}{{ .Prompt }}\n{{- end }}";
export const fimParams = { num_ctx: 2048, stop: ["<EOT>"], temperature: 0 };

/** Pushes `library/coder:<tag>` and returns the manifest digest; `params` replace the default ones. */
export async function pushFimModel(registryUrl: string, tag: string, params: Record<string, unknown> = fimParams): Promise<string> {
  const weights = await readFile((await ensureFixtureModels()).chat);
  return pushOllamaLayoutModel(registryUrl, "library/coder", tag, { weights, template: fimTemplate, params });
}
