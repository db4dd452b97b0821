import { exitDiagnosis } from "../exit-diagnosis.ts";

/** A readable first line for why `vllm serve` stopped, from Python's last words. */
export const diagnoseVllmExit = exitDiagnosis([
  [/CUDA out of memory|OutOfMemoryError|out of memory|No available memory for the cache blocks/i, "not enough GPU memory for the model"],
  [/No CUDA GPUs are available|Failed to infer device type|CUDA driver|no NVIDIA driver/i, "no usable GPU"],
  [/unrecognized arguments|invalid choice|argument .*: (?:invalid|expected)/i, "an invalid command-line argument"],
  [/Address already in use|could not bind/i, "could not listen on its socket"],
  [/ModuleNotFoundError|ImportError/, "its Python installation is incomplete"],
  [/Error loading model|OSError: .*config\.json|does not appear to have a file named|ValueError:/, "the model could not be loaded"],
]);
