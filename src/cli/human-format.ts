/** Sizes, durations and moments as `ollama` prints them. */

const byteUnits: ReadonlyArray<readonly [unit: string, bytes: number]> = [
  ["TB", 1e12],
  ["GB", 1e9],
  ["MB", 1e6],
  ["KB", 1e3],
];

/**
 * Decimal units, one decimal below 10.
 *
 * @example humanBytes(9_437_184) // "9.4 MB"
 * @example humanBytes(45_000_000) // "45 MB"
 */
export function humanBytes(bytes: number): string {
  const [unit, size] = byteUnits.find(([, size]) => bytes >= size) ?? ["B", 1];
  const value = bytes / size;
  return value >= 10 || Number.isInteger(value) ? `${Math.floor(value)} ${unit}` : `${value.toFixed(1)} ${unit}`;
}

/**
 * A duration as Docker and Ollama write it for people.
 *
 * @example humanDuration(90_000) // "About a minute"
 * @example humanDuration(3 * 86_400_000) // "3 days"
 */
export function humanDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  const minutes = Math.round(ms / 60_000);
  const hours = Math.round(ms / 3_600_000);
  if (seconds < 1) return "Less than a second";
  if (seconds === 1) return "1 second";
  if (seconds < 60) return `${seconds} seconds`;
  if (minutes === 1) return "About a minute";
  if (minutes < 60) return `${minutes} minutes`;
  if (hours === 1) return "About an hour";
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 14) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 60) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(hours / 24 / 365)} years`;
}

/** Ollama shows a model kept loaded forever as expiring centuries ahead. */
const foreverMs = 20 * 365 * 86_400_000;

/**
 * @example humanTime(new Date(Date.now() - 120_000)) // "2 minutes ago"
 * @example humanTime(new Date(Date.now() + 240_000)) // "4 minutes from now"
 * @example humanTime(new Date("2318-01-01")) // "Forever"
 */
export function humanTime(moment: Date, now = Date.now()): string {
  const delta = moment.getTime() - now;
  if (delta > foreverMs) return "Forever";
  return delta > 0 ? `${humanDuration(delta)} from now` : `${humanDuration(-delta)} ago`;
}

/**
 * A short countdown for progress bars.
 *
 * @example shortDuration(83_000) // "1m23s"
 */
export function shortDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${seconds % 60}s`;
  return `${Math.floor(minutes / 60)}h${minutes % 60}m`;
}
