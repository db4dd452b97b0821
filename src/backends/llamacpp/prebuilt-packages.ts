import type { GpuHost } from "./gpu-host.ts";
import type { PinnedPackage } from "./npm-package.ts";

/**
 * The prebuilt llama.cpp libraries npm ships beside node-llama-cpp, built
 * from the same llama.cpp commit as its source bundle (see `llamaCppSource`).
 * Pinned by version and integrity, like the source.
 */
export const prebuiltPackages = {
  "linux-x64": {
    spec: "@node-llama-cpp/linux-x64@3.22.1",
    integrity: "sha512-5uCCDNqWCNfaAm8aR/Uzxbo4HBpKgNF91kCHPepKhgMgV2OAmatoefbOlMihsqCiH2Od35E/eUHQCFbfRBJuOg==",
    hostLibraries: [],
  },
  "linux-arm64": {
    spec: "@node-llama-cpp/linux-arm64@3.22.1",
    integrity: "sha512-W+7naKCXX9/eEjjFmRS8vvx91QyLXDbeFxexZc3bh/PtQABZgmRL3C0AtYYXn4YGTj/3Qor4lWZn2tpjZFPLdQ==",
    hostLibraries: [],
  },
  /** CUDA 13: about 143 MB. */
  "linux-x64-cuda": {
    spec: "@node-llama-cpp/linux-x64-cuda@3.22.1",
    integrity: "sha512-8rQCjyNNLZJUFit+YpjwlC4hwkKgOMIkB2wuycKBf8NU2O3ySKbiWZQ8aw9ku2nUTXjSnUIrE6KB88itduTBuA==",
    hostLibraries: ["libcudart.so.13", "libcublas.so.13", "libcublasLt.so.13"],
  },
  /** CUDA 12, the fallback for older drivers and CUDA 12 runtimes: about 177 MB. */
  "linux-x64-cuda-ext": {
    spec: "@node-llama-cpp/linux-x64-cuda-ext@3.22.1",
    integrity: "sha512-4e5ajkiM2aR2WAdB/N/ACk4weEhHvOAIrzxZPsIX0xDFW5+6hhShuy1/vs88SK9NGdgAco9IyE28eYS0H1efpA==",
    hostLibraries: ["libcudart.so.12", "libcublas.so.12", "libcublasLt.so.12"],
  },
  /** Vulkan: NVIDIA, AMD and Intel GPUs; about 24 MB. */
  "linux-x64-vulkan": {
    spec: "@node-llama-cpp/linux-x64-vulkan@3.22.1",
    integrity: "sha512-bBxqU+JOcBu1nb5Qj2zcMci+JByT1E8EajHvYodyNfVIPkEhXh+/HMwR1/BT7xP08YK0hks+kM8fglER0P8JEg==",
    hostLibraries: ["libvulkan.so.1"],
  },
} as const satisfies Record<string, PinnedPackage & { hostLibraries: readonly string[] }>;

export type PrebuiltPackageName = keyof typeof prebuiltPackages;

/** Every library some package's backend needs from the machine, plus the driver's own. */
export const gpuHostLibraries: readonly string[] = [
  "libcuda.so.1",
  ...Object.values(prebuiltPackages).flatMap((pkg) => pkg.hostLibraries),
];

/** CUDA packages, newest first: the first whose runtime is present and whose CUDA the driver runs wins. */
const cudaPackages = [
  { name: "linux-x64-cuda", major: 13 },
  { name: "linux-x64-cuda-ext", major: 12 },
] as const satisfies ReadonlyArray<{ name: PrebuiltPackageName; major: number }>;

/** What a host gets: the packages to fetch, where the runner finds their libraries, and what it misses. */
export interface PrebuiltSelection {
  /** The base package first (ggml, llama, CPU backends), then GPU backends; empty when none fits the host. */
  readonly packages: readonly PrebuiltPackageName[];
  /** Directories the runner's `LD_LIBRARY_PATH` needs for the chosen backends (a CUDA runtime outside the system's). */
  readonly libraryPath: readonly string[];
  /** Why a GPU present goes unused, in words for a warning. */
  readonly notices: readonly string[];
}

export interface SelectionOptions {
  /** `MODELGATE_LLAMA_CUDA=off` leaves CUDA out. */
  readonly cuda: boolean;
}

/** Directories the dynamic linker searches anyway: never added to `LD_LIBRARY_PATH`. */
const systemLibraryDirs = new Set(["/lib", "/lib64", "/usr/lib", "/usr/lib64", "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu"]);

/**
 * The prebuilt packages this host can use: the CPU package of its
 * architecture always; on x64 with the NVIDIA driver, the CUDA package whose
 * runtime (libcudart, libcublas) is installed and which the driver runs;
 * with a GPU and the Vulkan loader, the Vulkan package (ggml skips a device
 * CUDA already drives). Each GPU left out says why.
 */
export function selectPrebuiltPackages(host: GpuHost, options: SelectionOptions): PrebuiltSelection {
  const base = host.platform !== "linux" ? undefined : host.arch === "x64" ? "linux-x64" : host.arch === "arm64" ? "linux-arm64" : undefined;
  if (!base) return { packages: [], libraryPath: [], notices: [`npm ships no prebuilt llama.cpp for ${host.platform}-${host.arch}`] };
  const packages: PrebuiltPackageName[] = [base];
  const libraryPath = new Set<string>();
  const notices: string[] = [];
  const missing = (library: string) => !host.libraries.has(library);

  const driver = host.nvidiaDriver;
  if (driver && base === "linux-x64" && options.cuda) {
    const runnable = cudaPackages.filter(({ major }) => driver.cudaVersion === undefined || driver.cudaVersion >= major);
    const usable = runnable.find(({ name }) => !prebuiltPackages[name].hostLibraries.some(missing));
    if (usable) {
      packages.push(usable.name);
      for (const library of prebuiltPackages[usable.name].hostLibraries) libraryPath.add(host.libraries.get(library)!);
    } else {
      notices.push(describeMissingCuda(host, runnable));
    }
    if (missing("libcuda.so.1")) notices.push(`the NVIDIA driver is loaded but its library libcuda.so.1 was not found (searched ${host.searched.join(", ")})`);
  }

  const gpu = driver !== undefined || host.renderNodes > 0;
  if (gpu && base === "linux-x64") {
    if (missing("libvulkan.so.1")) notices.push("a GPU is present but the Vulkan loader libvulkan.so.1 is not installed (Debian/Ubuntu: apt install libvulkan1 mesa-vulkan-drivers), so llama.cpp cannot use it through Vulkan");
    else packages.push("linux-x64-vulkan");
  }
  return { packages, libraryPath: [...libraryPath].filter((dir) => !systemLibraryDirs.has(dir)), notices };
}

function describeMissingCuda(host: GpuHost, runnable: ReadonlyArray<{ name: PrebuiltPackageName; major: number }>): string {
  const version = host.nvidiaDriver?.cudaVersion;
  const driver = `the NVIDIA driver${version === undefined ? "" : ` (CUDA ${version})`}`;
  if (runnable.length === 0) return `${driver} is too old for llama.cpp's prebuilt CUDA backends (CUDA 12 or 13): update the driver`;
  const wants = runnable.map(({ name, major }) => {
    const absent = prebuiltPackages[name].hostLibraries.filter((library) => !host.libraries.has(library));
    return `CUDA ${major} needs ${absent.join(", ")}`;
  });
  return (
    `${driver} is loaded but no CUDA runtime llama.cpp can use was found: ${wants.join("; ")} ` +
    `(searched ${host.searched.join(", ")}). Install the CUDA toolkit, or in a Python environment ` +
    "`pip install nvidia-cuda-runtime-cu12 nvidia-cublas-cu12`, then restart modelgate; until then llama.cpp runs without CUDA"
  );
}

/** The cache directory name of an engine made of these packages: `prebuilt-linux-x64+linux-x64-vulkan`. */
export function prebuiltVariant(packages: readonly PrebuiltPackageName[]): string {
  return `prebuilt-${packages.join("+")}`;
}
