import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import type { GpuHost } from "../../../src/backends/llamacpp/gpu-host.ts";
import { ensurePrebuiltPackage, planPrebuiltEngine, type PackageContents } from "../../../src/backends/llamacpp/prebuilt-engine.ts";
import { prebuiltPackages, selectPrebuiltPackages, type PrebuiltPackageName } from "../../../src/backends/llamacpp/prebuilt-packages.ts";

/**
 * The selection logic on the real packages: each is fetched once (npm pack,
 * integrity-checked) into the engine cache and read from there, so the file
 * names, the libraries each backend needs and the layout are npm's, not ours.
 */
const contents = new Map<PrebuiltPackageName, PackageContents>();
const names = ["linux-x64", "linux-x64-cuda", "linux-x64-cuda-ext", "linux-x64-vulkan"] as const;

before(async () => {
  const progress = { signal: AbortSignal.timeout(15 * 60_000), onProgress: ({ message }: { message: string }) => process.stderr.write(`[prebuilt] ${message}\n`) };
  for (const name of names) contents.set(name, await ensurePrebuiltPackage(name, progress));
}, { timeout: 16 * 60_000 });

function host(facts: Partial<Omit<GpuHost, "libraries">> & { libraries?: Record<string, string> } = {}): GpuHost {
  return {
    platform: "linux",
    arch: "x64",
    renderNodes: 0,
    searched: ["/usr/lib/x86_64-linux-gnu", "/opt/venv/lib/python3.12/site-packages/nvidia/cu13/lib"],
    ...facts,
    libraries: new Map(Object.entries(facts.libraries ?? {})),
  };
}

function plan(packages: readonly PrebuiltPackageName[]) {
  return planPrebuiltEngine(packages.map((name) => contents.get(name)!));
}

const cuda13Wheels = "/opt/venv/lib/python3.12/site-packages/nvidia/cu13/lib";
const cuda13 = { "libcuda.so.1": "/usr/lib/x86_64-linux-gnu", "libcudart.so.13": cuda13Wheels, "libcublas.so.13": cuda13Wheels, "libcublasLt.so.13": cuda13Wheels };
const cuda12 = { "libcuda.so.1": "/usr/lib/x86_64-linux-gnu", "libcudart.so.12": "/usr/local/cuda-12.4/lib64", "libcublas.so.12": "/usr/local/cuda-12.4/lib64", "libcublasLt.so.12": "/usr/local/cuda-12.4/lib64" };

describe("which prebuilt packages a host gets", () => {
  it("a CPU-only x64 host: linux-x64 alone, every CPU variant beside the server and no GPU backend", () => {
    const selection = selectPrebuiltPackages(host(), { cuda: true });
    assert.deepEqual(selection, { packages: ["linux-x64"], libraryPath: [], notices: [] });
    const engine = plan(selection.packages);
    assert.equal(engine.ggml, "libggml.v0.5.0.so");
    assert.equal(engine.llama, "libllama.v0.5.0.so");
    const beside = engine.beside.map(({ name }) => name);
    for (const library of ["libggml-base.so", "libllama-common.so", "libggml-cpu-sse42.so", "libggml-cpu-haswell.so", "libggml-cpu-zen4.so", "libggml-cpu-sapphirerapids.so"]) {
      assert.ok(beside.includes(library), `${library} goes beside llama-server`);
    }
    assert.ok(!beside.includes("llama-addon.node"), "node-llama-cpp's addon is not part of the engine");
    assert.ok(engine.backends.every((backend) => backend.startsWith("cpu-")));
  });

  it("NVIDIA with a CUDA 13 runtime from Python wheels: the CUDA package's backend beside the server, the wheels' directory on the runner's library path", () => {
    const selection = selectPrebuiltPackages(host({ nvidiaDriver: { gpus: ["GPU 0: NVIDIA H100"], cudaVersion: 13 }, libraries: { ...cuda13, "libvulkan.so.1": "/usr/lib/x86_64-linux-gnu" } }), { cuda: true });
    assert.deepEqual(selection, { packages: ["linux-x64", "linux-x64-cuda", "linux-x64-vulkan"], libraryPath: [cuda13Wheels], notices: [] });
    const engine = plan(selection.packages);
    assert.deepEqual(engine.backends.filter((backend) => !backend.startsWith("cpu-")), ["cuda", "vulkan"]);
    const cuda = engine.beside.find(({ name }) => name === "libggml-cuda.so")!;
    assert.ok(cuda.from.startsWith(contents.get("linux-x64-cuda")!.root));
    assert.equal(engine.beside.filter(({ name }) => name === "libggml-base.so").length, 1, "one libggml-base.so: the base package's");
  });

  it("NVIDIA whose driver runs CUDA 12.4 only: the CUDA 12 backend (cuda-ext's fallback library), even with a CUDA 13 runtime installed", () => {
    const selection = selectPrebuiltPackages(host({ nvidiaDriver: { gpus: ["GPU 0: NVIDIA A10"], cudaVersion: 12.4 }, libraries: { ...cuda13, ...cuda12 } }), { cuda: true });
    assert.deepEqual(selection.packages, ["linux-x64", "linux-x64-cuda-ext"]);
    assert.deepEqual(selection.libraryPath, ["/usr/local/cuda-12.4/lib64"]);
    const cuda = plan(selection.packages).beside.find(({ name }) => name === "libggml-cuda.so")!;
    assert.equal(cuda.from, join(contents.get("linux-x64-cuda-ext")!.root, "bins/linux-x64-cuda/fallback/libggml-cuda.so"));
  });

  it("NVIDIA without a CUDA runtime: no CUDA package, and the warning names every missing library and where it looked", () => {
    const selection = selectPrebuiltPackages(host({ nvidiaDriver: { gpus: ["GPU 0: NVIDIA L4"], cudaVersion: 13 }, libraries: { "libcuda.so.1": "/usr/lib/x86_64-linux-gnu", "libcudart.so.13": cuda13Wheels } }), { cuda: true });
    assert.deepEqual(selection.packages, ["linux-x64"]);
    assert.equal(selection.notices.length, 2, "CUDA, and Vulkan's missing loader");
    const [cuda, vulkan] = selection.notices;
    assert.match(cuda!, /CUDA 13 needs libcublas\.so\.13, libcublasLt\.so\.13; CUDA 12 needs libcudart\.so\.12, libcublas\.so\.12, libcublasLt\.so\.12/);
    assert.match(cuda!, /searched \/usr\/lib\/x86_64-linux-gnu, \/opt\/venv/);
    assert.match(cuda!, /pip install nvidia-cuda-runtime-cu12 nvidia-cublas-cu12/);
    assert.match(vulkan!, /libvulkan\.so\.1 is not installed/);
  });

  it("NVIDIA with CUDA turned off (MODELGATE_LLAMA_CUDA=off) still gets Vulkan", () => {
    const selection = selectPrebuiltPackages(host({ nvidiaDriver: { gpus: ["GPU 0"], cudaVersion: 13 }, libraries: { ...cuda13, "libvulkan.so.1": "/usr/lib/x86_64-linux-gnu" } }), { cuda: false });
    assert.deepEqual(selection, { packages: ["linux-x64", "linux-x64-vulkan"], libraryPath: [], notices: [] });
  });

  it("a driver too old for CUDA 12 is told to update", () => {
    const selection = selectPrebuiltPackages(host({ nvidiaDriver: { gpus: ["GPU 0"], cudaVersion: 11.8 }, libraries: cuda12 }), { cuda: true });
    assert.deepEqual(selection.packages, ["linux-x64"]);
    assert.match(selection.notices[0]!, /CUDA 11\.8\) is too old .* update the driver/);
  });

  it("AMD or Intel (a render node) with the Vulkan loader: the Vulkan backend; without it, a warning", () => {
    const withLoader = selectPrebuiltPackages(host({ renderNodes: 1, libraries: { "libvulkan.so.1": "/usr/lib/x86_64-linux-gnu" } }), { cuda: true });
    assert.deepEqual(withLoader, { packages: ["linux-x64", "linux-x64-vulkan"], libraryPath: [], notices: [] });
    assert.equal(plan(withLoader.packages).beside.find(({ name }) => name === "libggml-vulkan.so")?.from.startsWith(contents.get("linux-x64-vulkan")!.root), true);
    const without = selectPrebuiltPackages(host({ renderNodes: 1 }), { cuda: true });
    assert.deepEqual(without.packages, ["linux-x64"]);
    assert.match(without.notices[0]!, /apt install libvulkan1 mesa-vulkan-drivers/);
  });

  it("arm64 gets linux-arm64 and no x64 GPU package; other platforms none, which means the source build", () => {
    assert.deepEqual(selectPrebuiltPackages(host({ arch: "arm64", nvidiaDriver: { gpus: [] }, libraries: cuda13 }), { cuda: true }).packages, ["linux-arm64"]);
    const mac = selectPrebuiltPackages(host({ platform: "darwin", arch: "arm64" }), { cuda: true });
    assert.deepEqual(mac.packages, []);
    assert.match(mac.notices[0]!, /no prebuilt llama\.cpp for darwin-arm64/);
  });

  it("a GPU package cannot serve as the base: its ggml and llama libraries carry the GPU in their names", () => {
    assert.throws(() => plan(["linux-x64-cuda"]), /linux-x64-cuda@3\.22\.1 holds no libggml\.v\*\.so/);
  });

  it("the libraries each GPU backend needs from the host are the ones its ELF file names (readelf)", () => {
    const provided = new Set(["libggml-base.so", "libcuda.so.1", "libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1", "ld-linux-x86-64.so.2"]);
    for (const name of ["linux-x64-cuda", "linux-x64-cuda-ext", "linux-x64-vulkan"] as const) {
      const engine = plan(["linux-x64", name]);
      const backend = engine.beside.at(-1)!;
      const needed = [...execFileSync("readelf", ["-d", backend.from], { encoding: "utf8" }).matchAll(/\(NEEDED\)\s+Shared library: \[(.+)\]/g)].map((match) => match[1]!);
      const fromHost = needed.filter((library) => !provided.has(library));
      assert.ok(fromHost.length > 0, `${backend.name} needs something of the host`);
      for (const library of fromHost) assert.ok((prebuiltPackages[name].hostLibraries as readonly string[]).includes(library), `${name}: ${library} is looked for`);
    }
  });
});
