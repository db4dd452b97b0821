import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EngineCrashedError } from "../../../src/backends/engine-crashed-error.ts";
import { diagnoseLlamaServerExit } from "../../../src/backends/llamacpp/crash-diagnosis.ts";

const exited = { exitCode: 1, signal: null };

describe("diagnoseLlamaServerExit", () => {
  it("names an allocation failure as lack of memory, before the load failure it causes", () => {
    const stderr = [
      "ggml_backend_cpu_buffer_type_alloc_buffer: failed to allocate buffer of size 68719476768",
      "llama_init_from_model: failed to initialize the context: failed to allocate buffer for kv cache",
      "common_init_from_params: failed to load model '/m/tiny.gguf'",
    ];
    assert.match(diagnoseLlamaServerExit.diagnose(stderr, exited) ?? "", /^not enough memory for the model: ggml_backend_cpu_buffer_type_alloc_buffer/);
    assert.match(diagnoseLlamaServerExit.diagnose(["CUDA error: out of memory"], exited) ?? "", /^not enough memory/);
  });

  it("names a model that does not load", () => {
    const stderr = ["gguf_init_from_file_impl: invalid magic characters", "llama_model_load: error loading model: llama_model_loader: failed to load model from /m/x.gguf"];
    assert.match(diagnoseLlamaServerExit.diagnose(stderr, exited) ?? "", /^the model could not be loaded: llama_model_load: error loading model/);
  });

  it("names a bad flag", () => {
    assert.match(diagnoseLlamaServerExit.diagnose(["error: invalid argument: --bogus"], exited) ?? "", /^an invalid command-line argument/);
  });

  it("suspects the OOM killer behind an unexplained SIGKILL, and stays silent otherwise", () => {
    assert.match(diagnoseLlamaServerExit.diagnose(["srv  update_slots: all slots are idle"], { exitCode: null, signal: "SIGKILL" }) ?? "", /out-of-memory killer/);
    assert.equal(diagnoseLlamaServerExit.diagnose(["srv  update_slots: all slots are idle"], { exitCode: null, signal: "SIGSEGV" }), undefined);
  });
});

describe("EngineCrashedError", () => {
  it("opens with the diagnosis and how it ended, and ends with the stderr tail", () => {
    const error = new EngineCrashedError({ engine: "llama-server", exitCode: 1, signal: null, diagnosis: "the model could not be loaded: x", stderrTail: ["a", "b"] });
    assert.equal(error.message, "llama-server: the model could not be loaded: x (it exited with code 1)\n--- last output lines ---\na\nb");
    const bare = new EngineCrashedError({ engine: "llama-server", exitCode: null, signal: "SIGSEGV", stderrTail: [] });
    assert.equal(bare.message, "llama-server was killed by SIGSEGV");
  });
});
