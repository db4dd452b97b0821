import { exitDiagnosis } from "../exit-diagnosis.ts";

/**
 * A readable first line for why `vllm serve` stopped, from any line it wrote
 * (the cause comes before a long traceback). Specific causes first, each in
 * the words vLLM prints it with.
 */
export const diagnoseVllmExit = exitDiagnosis([
  // vllm/v1/core/kv_cache_utils.py: the context needs more KV cache than the GPU share leaves.
  [/To serve at least one request with the model'?s'? max seq len/, "the context does not fit in the KV cache (set a smaller context-size, or a larger gpu-memory-utilization)"],
  // vllm/v1/worker/gpu_worker.py: another process holds part of the GPU.
  [/Free memory on device .* is less than desired GPU memory utilization/, "the GPU has less free memory than gpu-memory-utilization asks for (another process holds it)"],
  // vllm/config/model.py, _get_and_verify_max_len.
  [/User-specified max_model_len .* is greater than the derived max_model_len/, "the context size is above the model's native context"],
  [/CUDA out of memory|OutOfMemoryError|No available memory for the cache blocks/i, "not enough GPU memory for the model"],
  [/No CUDA GPUs are available|Failed to infer device type|CUDA driver|no NVIDIA driver|Found no NVIDIA driver/i, "no usable GPU"],
  [/Model architectures? .* (?:are|is) not supported|Cannot find model module|not supported for now/, "this vLLM does not support the model's architecture"],
  [/NotImplementedError: Speculative decoding with draft model/, "this vLLM cannot run a draft model for speculative decoding"],
  // argparse, exit 2.
  [/unrecognized arguments|invalid choice|argument .*: (?:invalid|expected)/i, "an argument this vLLM does not take"],
  // pydantic's ValidationError on a config (vllm/config/*.py).
  [/validation error for|Value error,/, "vLLM refused its configuration"],
  [/AF_UNIX path too long|path too long/i, "the socket's path is too long for a Unix socket (use a shorter MODELGATE_HOME)"],
  [/Address already in use|could not bind/i, "could not listen on its socket"],
  [/ModuleNotFoundError|ImportError/, "its Python installation is incomplete"],
  [/Error loading model|OSError: .*config\.json|does not appear to have a file named|ValueError:/, "the model could not be loaded"],
]);
