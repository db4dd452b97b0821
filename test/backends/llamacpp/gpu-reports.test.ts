import assert from "node:assert/strict";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parseDeviceListing } from "../../../src/backends/llamacpp/engine-devices.ts";
import { detectGpuHost, parseDriverCudaVersion } from "../../../src/backends/llamacpp/gpu-host.ts";
import { loadedGgmlBackends } from "../../../src/backends/llamacpp/loaded-backends.ts";
import { offloadReader } from "../../../src/backends/llamacpp/offload-report.ts";

const MiB = 1024 * 1024;

describe("what a runner reports it allocated", () => {
  it("a CPU runner (lines of this llama-server at -lv 4): everything in RAM, no layer offloaded", () => {
    const reader = offloadReader();
    assert.equal(reader.report(), undefined, "nothing said yet");
    for (const line of [
      "0.02.507.745 I load_tensors:   CPU_Mapped model buffer size =    37.24 MiB",
      "0.02.510.296 I llama_context:        CPU  output buffer size =     2.32 MiB",
      "0.02.510.344 I llama_kv_cache:        CPU KV buffer size =     0.12 MiB",
      "0.02.510.349 I llama_kv_cache: size =    0.12 MiB (   512 cells,   2 layers,  4/1 seqs), K (f16):    0.06 MiB, V (f16):    0.06 MiB",
      "0.02.515.316 I sched_reserve:        CPU compute buffer size =     2.45 MiB",
    ]) reader.read(line);
    assert.deepEqual(reader.report(), { layers: undefined, memory: { ram: Math.round(37.24 * MiB) + Math.round(2.32 * MiB) + Math.round(0.12 * MiB) + Math.round(2.45 * MiB), vram: 0 } });
  });

  it("a partly offloaded CUDA runner: device buffers are VRAM, CPU and pinned host buffers RAM", () => {
    const reader = offloadReader();
    for (const line of [
      "load_tensors: offloaded 20/33 layers to GPU",
      "load_tensors:   CPU_Mapped model buffer size =   100.00 MiB",
      "load_tensors:        CUDA0 model buffer size =   300.00 MiB",
      "llama_kv_cache:      CUDA0 KV buffer size =    64.00 MiB",
      "sched_reserve:      CUDA0 compute buffer size =    16.00 MiB",
      "sched_reserve:  CUDA_Host compute buffer size =     4.00 MiB",
    ]) reader.read(line);
    assert.deepEqual(reader.report(), { layers: { offloaded: 20, total: 33 }, memory: { ram: 104 * MiB, vram: 380 * MiB } });
  });
});

describe("devices and backends", () => {
  it("reads --list-devices: GPU devices, none on a CPU machine", () => {
    assert.deepEqual(parseDeviceListing("Available devices:\n  (none)\n"), []);
    assert.deepEqual(parseDeviceListing("Available devices:\n  CUDA0: NVIDIA H100 80GB HBM3 (81079 MiB, 80484 MiB free)\n  Vulkan1: AMD Radeon (RADV NAVI31) (24560 MiB, 24000 MiB free)\n"), [
      "CUDA0: NVIDIA H100 80GB HBM3 (81079 MiB, 80484 MiB free)",
      "Vulkan1: AMD Radeon (RADV NAVI31) (24560 MiB, 24000 MiB free)",
    ]);
  });

  it("reads the driver's CUDA version from nvidia-smi's header", () => {
    assert.equal(parseDriverCudaVersion("| NVIDIA-SMI 580.65.06   Driver Version: 580.65.06   CUDA Version: 13.0     |"), 13);
    assert.equal(parseDriverCudaVersion("| NVIDIA-SMI 550.54.15   Driver Version: 550.54.15   CUDA Version: 12.4     |"), 12.4);
    assert.equal(parseDriverCudaVersion(""), undefined);
  });

  it("a process without ggml has no backend mapped; a gone one neither", () => {
    assert.deepEqual(loadedGgmlBackends(process.pid), []);
    assert.deepEqual(loadedGgmlBackends(2 ** 22 + 1), []);
  });
});

describe("where CUDA runtimes are found", () => {
  it("in a virtualenv's nvidia-* wheels (CUDA 13's nvidia/cu13/lib, CUDA 12's nvidia/cublas/lib), LD_LIBRARY_PATH first", async () => {
    const venv = await mkdtemp(join(tmpdir(), "mg-venv-"));
    const cu13 = join(venv, "lib", "python3.12", "site-packages", "nvidia", "cu13", "lib");
    const cublas12 = join(venv, "lib", "python3.12", "site-packages", "nvidia", "cublas", "lib");
    const preferred = join(venv, "preferred");
    for (const [dir, files] of [[cu13, ["libcudart.so.13", "libcublas.so.13"]], [cublas12, ["libcublas.so.12"]], [preferred, ["libcublas.so.13"]]] as const) {
      await mkdir(dir, { recursive: true });
      for (const file of files) await writeFile(join(dir, file), "");
    }
    const host = await detectGpuHost(["libcudart.so.13", "libcublas.so.13", "libcublas.so.12", "libnothing.so.9"], { PATH: "/usr/bin:/bin", VIRTUAL_ENV: venv, LD_LIBRARY_PATH: preferred });
    assert.equal(host.libraries.get("libcudart.so.13"), cu13);
    assert.equal(host.libraries.get("libcublas.so.13"), preferred);
    assert.equal(host.libraries.get("libcublas.so.12"), cublas12);
    assert.equal(host.libraries.has("libnothing.so.9"), false);
    assert.ok(host.searched.includes(cu13) && host.searched.includes("/usr/local/cuda/lib64"));
  });
});
