/**
 * The llama-server binary the end-to-end tests start: `LLAMA_SERVER_PATH`, else
 * the CPU build in the shared scratch checkout. To be replaced by the engine
 * installer once the test harness prepares it.
 */
export function llamaServerPath(): string {
  return process.env.LLAMA_SERVER_PATH ?? "/tmp/nlc/llama.cpp/build/bin/llama-server";
}
