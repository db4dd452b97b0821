/**
 * Columns padded to their widest cell, no borders, as `ollama ls` prints them.
 *
 * @example table(["NAME", "SIZE"], [["tiny:latest", "9.4 MB"]])
 * // "NAME           SIZE\ntiny:latest    9.4 MB"
 */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...all.map((row) => row[column]?.length ?? 0)));
  return all.map((row) => row.map((cell, column) => cell.padEnd(widths[column]! + 4)).join("").trimEnd()).join("\n");
}
