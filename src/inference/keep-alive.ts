/**
 * Reads a keep-alive as Ollama clients send it: a number of seconds (fractions
 * allowed), a Go duration (`5m`, `1h30m`, `300ms`) or a numeric string (which
 * Ollama itself rejects, though clients send it). Returns milliseconds: any
 * negative value becomes -1 (forever), 0 means unload once idle.
 *
 * @example parseKeepAlive("1h30m") // 5_400_000
 * @example parseKeepAlive(-1) // -1
 * @throws Error when the value is neither
 */
export function parseKeepAlive(value: number | string): number {
  const ms = typeof value === "number" ? value * 1000 : parseDurationText(value.trim());
  if (!Number.isFinite(ms)) throw new Error(`invalid keep_alive ${JSON.stringify(value)}`);
  return ms < 0 ? -1 : Math.round(ms);
}

const unitMs: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const goDuration = /^([-+]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$/;
const part = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g;

function parseDurationText(text: string): number {
  if (text !== "" && !Number.isNaN(Number(text))) return Number(text) * 1000;
  const match = goDuration.exec(text);
  if (!match) return NaN;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(part)) total += Number(amount) * unitMs[unit!]!;
  return match[1] === "-" ? -total : total;
}
