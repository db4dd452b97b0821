import { tuningFlagCheck } from "../tuning-flag-check.ts";

/**
 * The llama-server flags a user may pass as runtime flags: performance and
 * sampling tuning only (not agent tools, MCP servers, router mode, file paths).
 */
const tuningFlags = new Set([
  // threads and scheduling
  "-t", "--threads", "-tb", "--threads-batch", "-C", "--cpu-mask", "-Cr", "--cpu-range", "--cpu-strict", "--prio", "--poll",
  "-Cb", "--cpu-mask-batch", "-Crb", "--cpu-range-batch", "--cpu-strict-batch", "--prio-batch", "--poll-batch", "--threads-http",
  // context, batching, attention, RoPE
  "-c", "--ctx-size", "-n", "--predict", "--n-predict", "-b", "--batch-size", "-ub", "--ubatch-size", "--keep", "--swa-full",
  "-fa", "--flash-attn", "--perf", "--no-perf", "-np", "--parallel", "-cb", "--cont-batching", "-nocb", "--no-cont-batching",
  "-kvu", "--kv-unified", "-no-kvu", "--no-kv-unified", "--context-shift", "--no-context-shift", "--rope-scaling", "--rope-scale", "--rope-freq-base",
  "--rope-freq-scale", "--yarn-orig-ctx", "--yarn-ext-factor", "--yarn-attn-factor", "--yarn-beta-slow", "--yarn-beta-fast",
  // KV cache and memory placement
  "-kvo", "--kv-offload", "-nkvo", "--no-kv-offload", "-ctk", "--cache-type-k", "-ctv", "--cache-type-v", "-dt", "--defrag-thold",
  "--repack", "-nr", "--no-repack", "--no-host", "--mlock", "--mmap", "--no-mmap", "--numa", "-dev", "--device",
  "-ot", "--override-tensor", "-cmoe", "--cpu-moe", "-ncmoe", "--n-cpu-moe", "-ngl", "--gpu-layers", "--n-gpu-layers",
  "-sm", "--split-mode", "-ts", "--tensor-split", "-mg", "--main-gpu", "-fit", "--fit", "-fitt", "--fit-target", "-fitc", "--fit-ctx",
  "--op-offload", "--no-op-offload", "-cram", "--cache-ram", "--cache-reuse", "--cache-prompt", "--no-cache-prompt",
  "-ctxcp", "--ctx-checkpoints", "--swa-checkpoints", "--cache-idle-slots", "--no-cache-idle-slots", "--warmup", "--no-warmup",
  // sampling defaults
  "--samplers", "-s", "--seed", "--sampler-seq", "--sampling-seq", "--ignore-eos", "--temp", "--temperature", "--top-k", "--top-p",
  "--min-p", "--top-nsigma", "--top-n-sigma", "--xtc-probability", "--xtc-threshold", "--typical", "--typical-p", "--repeat-last-n",
  "--repeat-penalty", "--presence-penalty", "--frequency-penalty", "--dry-multiplier", "--dry-base", "--dry-allowed-length",
  "--dry-penalty-last-n", "--dry-sequence-breaker", "--dynatemp-range", "--dynatemp-exp", "--mirostat", "--mirostat-lr", "--mirostat-ent",
  // speculative decoding tuning (the draft model itself is modelgate's)
  "--spec-draft-n-max", "--spec-draft-n-min", "--spec-draft-p-min", "--draft-p-min", "--spec-draft-p-split", "--draft-p-split",
  "--draft", "--draft-n", "--draft-max", "--draft-min", "--draft-n-min", "--spec-draft-ngl", "-ngld", "--gpu-layers-draft",
  "--n-gpu-layers-draft", "--spec-draft-threads", "-td", "--threads-draft", "--spec-draft-threads-batch", "-tbd", "--threads-batch-draft",
  "-ctkd", "--cache-type-k-draft", "-ctvd", "--cache-type-v-draft", "--spec-draft-type-k", "--spec-draft-type-v", "--spec-type",
  // chat, reasoning, embeddings
  "--pooling", "--embd-normalize", "--reasoning-format", "-rea", "--reasoning", "--reasoning-effort", "--reasoning-budget",
  "--reasoning-budget-message", "--reasoning-preserve", "--no-reasoning-preserve", "--chat-template", "--chat-template-kwargs",
  "-sp", "--special", "--spm-infill", "--skip-chat-parsing", "--no-skip-chat-parsing", "--prefill-assistant", "--no-prefill-assistant",
  "--jinja", "--no-jinja", "--image-min-tokens", "--image-max-tokens", "--mmproj-offload", "--no-mmproj-offload",
  // server behaviour and logging to stderr
  "-to", "--timeout", "--sse-ping-interval", "-sps", "--slot-prompt-similarity", "--slots", "--no-slots", "--sleep-idle-seconds",
  "-v", "--verbose", "-lv", "--verbosity", "--log-verbosity", "--log-disable", "--log-colors", "--log-prefix", "--no-log-prefix",
  "--log-timestamps", "--no-log-timestamps",
]);

/**
 * Refuses any runtime flag that is not a known tuning flag of llama-server.
 *
 * @throws InvalidConfigurationError naming the flag
 */
export const checkLlamaCppTuningFlags = tuningFlagCheck("llama.cpp", tuningFlags);
