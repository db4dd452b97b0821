/**
 * One regular expression for a list of patterns where `*` stands for any
 * run of characters (`https://*.example.com`, `*.lan`), matched whole and
 * case-insensitively; an empty list matches nothing.
 *
 * @example wildcardPattern(["http://localhost:*"]).test("http://localhost:3000") // true
 */
export function wildcardPattern(patterns: readonly string[]): RegExp {
  const sources = patterns.map((pattern) => pattern.split("*").map(escapeRegExp).join(".*"));
  return new RegExp(`^(?:${sources.join("|") || "(?!)"})$`, "i");
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
