/**
 * How a model's weights are stored, which decides the engines that can run
 * it: llama.cpp reads one GGUF file, vLLM a Hugging Face directory
 * (`config.json`, `*.safetensors`, tokenizer files).
 */
export const modelFormats = ["gguf", "safetensors"] as const;

export type ModelFormat = (typeof modelFormats)[number];
