import type { RequiredMemory } from "../inference/required-memory.ts";

/** Too many requests are already waiting for a runner. Maps to a 503. */
export class ServerBusyError extends Error {
  override readonly name = "ServerBusyError";
  constructor(maxQueue: number) {
    super(`server busy, please try again.  maximum pending requests exceeded (${maxQueue})`);
  }
}

/** The model needs more memory than the whole budget, so no eviction can help. */
export class ModelTooLargeError extends Error {
  override readonly name = "ModelTooLargeError";
  constructor(
    readonly required: RequiredMemory,
    readonly budget: RequiredMemory,
  ) {
    super(`model requires ${describeMemory(required)} but the memory budget is ${describeMemory(budget)}`);
  }
}

/** A runner failed before it became ready: it crashed, or it never answered in time. */
export class RunnerLoadError extends Error {
  override readonly name = "RunnerLoadError";
}

/** A runner died while requests were in flight; `message` carries the engine's last words. */
export class RunnerCrashedError extends Error {
  override readonly name = "RunnerCrashedError";
}

/** The chosen backend cannot run the model's format (vLLM and a GGUF file). Maps to a 400. */
export class UnsupportedModelFormatError extends Error {
  override readonly name = "UnsupportedModelFormatError";
}

/** The loader is shutting down and takes no more requests. */
export class LoaderClosedError extends Error {
  override readonly name = "LoaderClosedError";
  constructor() {
    super("the gateway is shutting down");
  }
}

/** A runner's configuration cannot change while requests use it. Maps to a 409. */
export class RunnerBusyError extends Error {
  override readonly name = "RunnerBusyError";
}

function describeMemory({ ram, vram }: RequiredMemory): string {
  return `${formatBytes(ram)} RAM and ${formatBytes(vram)} VRAM`;
}

/** Bytes in binary units, one decimal: `1.5 GiB`; Infinity reads `unlimited`. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return "unlimited";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
