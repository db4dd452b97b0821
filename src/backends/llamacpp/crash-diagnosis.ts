import { exitDiagnosis } from "../exit-diagnosis.ts";

/**
 * A readable first line for why llama-server stopped. An allocation failure
 * also makes the model load fail, and is named as such: it comes first.
 */
export const diagnoseLlamaServerExit = exitDiagnosis([
  [/out of memory|failed to allocate|unable to allocate|cudaMalloc failed|bad_alloc/i, "not enough memory for the model"],
  [/failed to load model|error loading model|unable to load model|llama_model_load: error/i, "the model could not be loaded"],
  [/invalid argument|unknown argument|error while handling argument|invalid value/i, "an invalid command-line argument"],
  [/couldn't bind|address already in use|failed to listen/i, "could not listen on its socket"],
]);
