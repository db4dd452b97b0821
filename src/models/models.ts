/**
 * The models contract the dialects call in-process: what a request to a
 * model starts from, typed, without the model manager's HTTP. `/models/{name}`
 * stays its HTTP face, with the same fields.
 */

/** A model's Modelfile layers, as Ollama applies them to each request. */
export interface ModelLayers {
  /** The manifest's digest. */
  readonly id: string;
  readonly system?: string;
  /** Default options, under the request's own. */
  readonly parameters?: Readonly<Record<string, unknown>>;
  /** Seed messages, before the conversation. */
  readonly messages?: ReadonlyArray<{ readonly role: string; readonly content: string }>;
  readonly template?: string;
  /** `go` for an Ollama template, `jinja` for a chat template layer. */
  readonly template_format?: string;
  /** The GGUF carries a chat template of its own (the engine can apply it). */
  readonly chat_template?: boolean;
}

export interface Models {
  /** The layers of the model a reference names; undefined for none in the store (an external engine's, or a name of nothing). */
  layers(reference: string): Promise<ModelLayers | undefined>;
}
