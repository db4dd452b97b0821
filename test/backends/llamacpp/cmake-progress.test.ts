import assert from "node:assert/strict";
import { it } from "node:test";
import { parseCMakeProgress } from "../../../src/backends/llamacpp/cmake-progress.ts";
import { cmakeConfigureArguments } from "../../../src/backends/llamacpp/build.ts";

it("reads cmake's percentage lines and ignores the rest", () => {
  assert.deepEqual(parseCMakeProgress("[ 42%] Building CXX object common/CMakeFiles/llama-common.dir/arg.cpp.o"), {
    percent: 42,
    message: "Building CXX object common/CMakeFiles/llama-common.dir/arg.cpp.o",
  });
  assert.deepEqual(parseCMakeProgress("[100%] Built target llama-server"), { percent: 100, message: "Built target llama-server" });
  assert.equal(parseCMakeProgress("-- Configuring done"), undefined);
});

it("configures an offline, static, server-only build, for CUDA on demand", () => {
  const cpu = cmakeConfigureArguments("/src", "/build");
  assert.ok(cpu.includes("-DLLAMA_USE_PREBUILT_UI=OFF") && cpu.includes("-DBUILD_SHARED_LIBS=OFF") && cpu.includes("-DLLAMA_OPENSSL=OFF"));
  assert.ok(!cpu.some((arg) => arg.includes("CUDA")));
  const cuda = cmakeConfigureArguments("/src", "/build", { nvcc: "/usr/local/cuda/bin/nvcc", nativeArchitectures: true });
  assert.deepEqual(cuda.slice(-3), ["-DGGML_CUDA=ON", "-DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc", "-DCMAKE_CUDA_ARCHITECTURES=native"]);
});
