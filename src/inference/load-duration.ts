/**
 * The engines layer's answer to an inference request says how long the
 * request waited for its runner to load, in milliseconds (fractions allowed):
 * `0` when a runner was ready. Ollama reports it as `load_duration`.
 */
export const LoadDurationHeader = "X-Load-Duration-Ms";
