import { tuningFlagCheck } from "../tuning-flag-check.ts";

/**
 * The `vllm serve` flags a user may pass as runtime flags: scheduling, memory,
 * parallelism, caching, sampling defaults and logging, as vLLM's current
 * engine arguments name them (vllm/engine/arg_utils.py,
 * vllm/entrypoints/openai/cli_args.py). Flags vLLM has removed
 * (`--max-seq-len-to-capture`, `--disable-log-requests`,
 * `--cuda-graph-sizes`, `--swap-space`, `--max-num-partial-prefills`,
 * `--max-long-partial-prefills`) are off the list: argparse would refuse them
 * and the runner exit at once. Not among them either: flags that load code
 * or files (`--trust-remote-code`, `--tokenizer`, `--generation-config`,
 * `--chat-template`, `--allowed-local-media-path`, `-O`/`--compilation-config`),
 * reach the network (`--hf-token`, `--revision`), or that modelgate sets from
 * the configuration (`--max-model-len`, `--gpu-memory-utilization`,
 * `--hf-overrides`, `--speculative-config`, `--enable-auto-tool-choice`,
 * `--tool-call-parser`, `--reasoning-parser`).
 */
const tuningFlags = new Set([
  // batching and scheduling
  "--max-num-seqs", "--max-num-batched-tokens", "--long-prefill-token-threshold", "--scheduling-policy",
  "--async-scheduling", "--no-async-scheduling", "--enable-chunked-prefill", "--no-enable-chunked-prefill", "--seed",
  // memory, KV cache, precision, CUDA graphs
  "--dtype", "--kv-cache-dtype", "--block-size", "--cpu-offload-gb", "--kv-cache-memory-bytes",
  "--num-gpu-blocks-override", "--enable-prefix-caching", "--no-enable-prefix-caching", "--prefix-caching-hash-algo",
  "--enforce-eager", "--no-enforce-eager", "--cudagraph-capture-sizes", "--max-cudagraph-capture-size", "-q", "--quantization",
  // parallelism on this host
  "-tp", "--tensor-parallel-size", "-pp", "--pipeline-parallel-size", "-dp", "--data-parallel-size",
  "--enable-expert-parallel", "--no-enable-expert-parallel", "--distributed-executor-backend",
  "--disable-custom-all-reduce", "--max-parallel-loading-workers",
  // outputs
  "--max-logprobs", "--chat-template-content-format", "--override-generation-config", "--limit-mm-per-prompt",
  "--mm-processor-kwargs", "--default-chat-template-kwargs",
  // logging
  "--disable-log-stats", "--enable-log-requests", "--uvicorn-log-level", "--disable-uvicorn-access-log", "--max-log-len",
]);

/**
 * Refuses any runtime flag that is not a known tuning flag of `vllm serve`.
 *
 * @throws InvalidConfigurationError naming the flag
 */
export const checkVllmTuningFlags = tuningFlagCheck("vLLM", tuningFlags);
