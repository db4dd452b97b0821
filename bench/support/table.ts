/**
 * Prints rows as a Markdown table with aligned columns, so the output can be
 * pasted into a note as it is and still reads well in a terminal.
 *
 * @example printTable(["path", "p50 ms"], [["gateway", "12.31"]])
 */
export function printTable(headers: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? "").length)));
  const line = (cells: readonly string[]) =>
    `| ${widths.map((width, column) => (column === 0 ? (cells[column] ?? "").padEnd(width) : (cells[column] ?? "").padStart(width))).join(" | ")} |`;
  console.log(line(headers));
  console.log(`|${widths.map((width, column) => (column === 0 ? `:${"-".repeat(width + 1)}` : `${"-".repeat(width + 1)}:`)).join("|")}|`);
  for (const row of rows) console.log(line(row));
}

/** A number with a fixed count of decimals; `NaN` reads as a dash. */
export function fixed(value: number, decimals = 2): string {
  return Number.isFinite(value) ? value.toFixed(decimals) : "–";
}

/** A signed difference, so an improvement and a cost read apart at a glance. */
export function signed(value: number, decimals = 2): string {
  return Number.isFinite(value) ? `${value >= 0 ? "+" : ""}${value.toFixed(decimals)}` : "–";
}
