/** One challenge of a `WWW-Authenticate` header: `Bearer realm="…",service="…",scope="…"`. */
export interface AuthChallenge {
  /** Lowercase: `bearer`, `basic`. */
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

/**
 * Parses a `WWW-Authenticate` header (RFC 9110 §11.6.1): several challenges,
 * each a scheme and comma-separated `key=value` parameters whose quoted
 * values may hold commas (`scope="repository:a:pull,push"`).
 *
 * @example parseWWWAuthenticate('Bearer realm="https://auth/token",service="reg"')
 * // [{ scheme: "bearer", params: { realm: "https://auth/token", service: "reg" } }]
 */
export function parseWWWAuthenticate(header: string): AuthChallenge[] {
  const challenges: { scheme: string; params: Record<string, string> }[] = [];
  const pattern = /\s*(?:([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)|([A-Za-z0-9!#$%&'*+.^_`|~-]+))\s*,?/y;
  let match: RegExpExecArray | null;
  while (pattern.lastIndex < header.length && (match = pattern.exec(header))) {
    const [, key, value, scheme] = match;
    if (scheme) {
      challenges.push({ scheme: scheme.toLowerCase(), params: {} });
    } else if (key && value !== undefined) {
      const current = challenges.at(-1);
      if (!current) continue;
      current.params[key.toLowerCase()] = value.startsWith('"') ? value.slice(1, -1).replace(/\\(.)/g, "$1") : value;
    }
  }
  return challenges;
}
