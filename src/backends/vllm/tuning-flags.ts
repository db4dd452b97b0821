import { tuningFlagCheck } from "../tuning-flag-check.ts";

/**
 * The `vllm serve` flags a user may pass as runtime flags: scheduling, memory,
 * parallelism, caching, sampling defaults and logging. Not among them: flags
 * that load code or files (`--trust-remote-code`, `--tokenizer`,
 * `--generation-config`, `--chat-template`, `--allowed-local-media-path`,
 * `-O`/`--compilation-config`), reach the network (`--hf-token`,
 * `--revision`), or that modelgate sets from the configuration
 * (`--max-model-len`, `--gpu-memory-utilization`, `--hf-overrides`,
 * `--speculative-config`).
 */
const tuningFlags = new Set([
  // batching and scheduling
  "--max-num-seqs", "--max-num-batched-tokens", "--max-num-partial-prefills", "--max-long-partial-prefills",
  "--long-prefill-token-threshold", "--scheduling-policy", "--async-scheduling", "--no-async-scheduling",
  "--enable-chunked-prefill", "--no-enable-chunked-prefill", "--seed",
  // memory, KV cache, precision
  "--dtype", "--kv-cache-dtype", "--block-size", "--swap-space", "--cpu-offload-gb", "--kv-cache-memory-bytes",
  "--num-gpu-blocks-override", "--enable-prefix-caching", "--no-enable-prefix-caching", "--prefix-caching-hash-algo",
  "--enforce-eager", "--no-enforce-eager", "--max-seq-len-to-capture", "--cuda-graph-sizes", "-q", "--quantization",
  // parallelism on this host
  "-tp", "--tensor-parallel-size", "-pp", "--pipeline-parallel-size", "-dp", "--data-parallel-size",
  "--enable-expert-parallel", "--no-enable-expert-parallel", "--distributed-executor-backend",
  "--disable-custom-all-reduce", "--max-parallel-loading-workers",
  // outputs, tools, reasoning
  "--max-logprobs", "--enable-auto-tool-choice", "--tool-call-parser", "--reasoning-parser",
  "--chat-template-content-format", "--override-generation-config", "--limit-mm-per-prompt", "--mm-processor-kwargs",
  // logging to stderr
  "--disable-log-stats", "--enable-log-requests", "--disable-log-requests", "--uvicorn-log-level",
  "--disable-uvicorn-access-log", "--max-log-len",
]);

/**
 * Refuses any runtime flag that is not a known tuning flag of `vllm serve`.
 *
 * @throws InvalidConfigurationError naming the flag
 */
export const checkVllmTuningFlags = tuningFlagCheck("vLLM", tuningFlags);
