/**
 * pino's JSON records as lines for people: time, level, message, then the
 * other fields as `key=value`. What a terminal shows (in colour) and what
 * `GET /logs` serves.
 *
 * @example formatLogRecord({ level: 30, time: 0, msg: "runner ready", model: "tiny:latest", ms: 412 })
 * // "1970-01-01T00:00:00.000Z INFO  runner ready model=tiny:latest ms=412"
 */

const levels: Readonly<Record<number, readonly [name: string, color: string]>> = {
  10: ["TRACE", "90"],
  20: ["DEBUG", "36"],
  30: ["INFO", "32"],
  40: ["WARN", "33"],
  50: ["ERROR", "31"],
  60: ["FATAL", "35"],
};

/** Fields every record has, or that say nothing a reader needs. */
const omitted = new Set(["level", "time", "msg", "pid", "hostname", "service"]);

export function formatLogRecord(record: Readonly<Record<string, unknown>>, options: { color?: boolean } = {}): string {
  const [name, color] = levels[Number(record.level)] ?? [String(record.level), "0"];
  const level = options.color ? `\x1b[${color}m${name.padEnd(5)}\x1b[0m` : name.padEnd(5);
  const time = new Date(typeof record.time === "number" ? record.time : Date.now()).toISOString();
  const fields = Object.entries(record)
    .filter(([key, value]) => !omitted.has(key) && value !== undefined)
    .map(([key, value]) => `${key}=${fieldText(value)}`);
  return [time, level, String(record.msg ?? ""), ...fields].join(" ");
}

function fieldText(value: unknown): string {
  // pino's error serializer: the message says what went wrong; the stack is for the JSON logs.
  if (typeof value === "object" && value !== null && "message" in value) return JSON.stringify(String(value.message));
  if (typeof value === "string") return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value);
}
