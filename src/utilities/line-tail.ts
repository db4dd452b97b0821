/**
 * The last lines of a stream, bounded both in line count and in bytes, so a
 * chatty or runaway process never grows the gateway's memory.
 */
export class LineTail {
  readonly #maxLines: number;
  readonly #maxBytes: number;
  readonly #lines: string[] = [];
  #bytes = 0;

  constructor({ maxLines = 50, maxBytes = 16 * 1024 }: { maxLines?: number; maxBytes?: number } = {}) {
    this.#maxLines = maxLines;
    this.#maxBytes = maxBytes;
  }

  push(line: string): void {
    // A line longer than the whole budget keeps only its end (and stays, alone).
    const kept = line.length > this.#maxBytes ? line.slice(-this.#maxBytes) : line;
    this.#lines.push(kept);
    this.#bytes += Buffer.byteLength(kept);
    while (this.#lines.length > 1 && (this.#lines.length > this.#maxLines || this.#bytes > this.#maxBytes)) {
      this.#bytes -= Buffer.byteLength(this.#lines.shift() ?? "");
    }
  }

  lines(): readonly string[] {
    return [...this.#lines];
  }

  text(): string {
    return this.#lines.join("\n");
  }
}
