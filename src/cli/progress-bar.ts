/**
 * Progress on a terminal: one line per step, redrawn in place while bytes
 * move, with a bar, the speed and the time left, as `ollama pull` shows it:
 *
 *   pulling 0123456789ab:  42% ▕████████          ▏ 3.9 MB/9.4 MB  1.2 MB/s  4s
 */
import { humanBytes, shortDuration } from "./human-format.ts";
import type { ProgressView } from "./progress-lines.ts";

export interface ProgressBarOptions {
  /** `bytes` (the default) shows sizes and speed; `percent` only the share done and the time left. */
  readonly counts?: "bytes" | "percent";
  /** Redraws at most this often, the last one always. */
  readonly intervalMs?: number;
  /** The clock speeds are measured by. */
  readonly now?: () => number;
}

/** How far back the speed is measured: smooth, yet quick to follow a change. */
const speedWindowMs = 5000;

export function progressBar(stream: NodeJS.WriteStream, options: ProgressBarOptions = {}): ProgressView {
  const { counts = "bytes", intervalMs = 100, now: clock = Date.now } = options;
  let status: string | undefined;
  let open = false;
  let drawnAt = -Infinity;
  let samples: { at: number; completed: number }[] = [];

  const draw = (text: string) => {
    stream.write(`\r${text.slice(0, (stream.columns || 80) - 1)}\x1b[K`);
    open = true;
  };

  return {
    show(progress) {
      const now = clock();
      if (progress.status !== status) {
        if (open) stream.write("\n");
        open = false;
        status = progress.status;
        samples = [];
      }
      const { total, completed } = progress;
      if (!total || completed === undefined) return draw(progress.status);
      samples = [...samples.filter((sample) => now - sample.at <= speedWindowMs), { at: now, completed }];
      if (completed < total && now - drawnAt < intervalMs) return;
      drawnAt = now;
      draw(barLine(progress.status, completed, total, speedOf(samples), counts, stream.columns || 80));
    },
    end() {
      if (open) stream.write("\n");
      open = false;
    },
  };
}

/** Units a second over the samples, or undefined until there are two. */
function speedOf(samples: readonly { at: number; completed: number }[]): number | undefined {
  const first = samples[0];
  const last = samples.at(-1);
  if (!first || !last || last.at === first.at) return undefined;
  return ((last.completed - first.completed) * 1000) / (last.at - first.at);
}

function barLine(status: string, completed: number, total: number, speed: number | undefined, counts: "bytes" | "percent", columns: number): string {
  const share = Math.min(1, completed / total);
  const left = `${status}: ${String(Math.floor(share * 100)).padStart(3)}%`;
  const eta = speed && speed > 0 && completed < total ? shortDuration(((total - completed) / speed) * 1000) : "";
  const right =
    counts === "bytes"
      ? [`${humanBytes(completed)}/${humanBytes(total)}`, speed === undefined ? "" : `${humanBytes(speed)}/s`, eta]
      : [eta];
  const tail = right.filter(Boolean).join("  ");
  const width = Math.max(10, Math.min(40, columns - left.length - tail.length - 6));
  const filled = Math.round(share * width);
  return `${left} ▕${"█".repeat(filled)}${" ".repeat(width - filled)}▏ ${tail}`;
}
