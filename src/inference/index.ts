export { ExperimentalEndpointsPrefix, InferencePrefix, ModelsPrefix } from "./prefixes.ts";
export { OriginAnthropicMessages, OriginOllamaCompletion, OriginOpenAIResponses, RequestOriginHeader } from "./origin.ts";
export type { Backend, EngineRequestContext, HttpClient } from "./backend.ts";
export { backendModes, parseBackendMode, type BackendMode } from "./backend-mode.ts";
export {
  BackendConfigurationSchema,
  LlamaCppConfigSchema,
  SpeculativeDecodingConfigSchema,
  VLLMConfigSchema,
  parseBackendConfiguration,
  type BackendConfiguration,
  type LlamaCppConfig,
  type SpeculativeDecodingConfig,
  type VLLMConfig,
} from "./backend-configuration.ts";
export { modelFormats, type ModelFormat } from "./model-format.ts";
export type { RequiredMemory } from "./required-memory.ts";
export { GGUFParseError } from "./gguf-parse-error.ts";
export { InvalidConfigurationError } from "./invalid-configuration-error.ts";
export { UnsupportedRequestError } from "./unsupported-request-error.ts";
export { parseKeepAlive } from "./keep-alive.ts";
export { LoadDurationHeader } from "./load-duration.ts";
export { validateRuntimeFlags } from "./runtime-flags.ts";
export { parseRunnerOptions, refuseLlamaCppSettings, RunnerOptionsSchema, withRunnerOptions, type RunnerOptions } from "./runner-options.ts";
export { validateHFOverrides, type HFOverrides, type HFOverrideValue } from "./hf-overrides.ts";
