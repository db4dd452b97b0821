/** Where the gateway listens. */
export interface ListenAddress {
  readonly hostname: string;
  readonly port: number;
}

export const defaultListenAddress: ListenAddress = { hostname: "127.0.0.1", port: 11434 };

/**
 * Reads a listen address the way Ollama reads `OLLAMA_HOST`: an optional
 * `http://` scheme, a host (IPv6 in brackets) and an optional port; a missing
 * host means 127.0.0.1 and a missing port 11434.
 *
 * @example parseListenAddress("0.0.0.0:8080") // { hostname: "0.0.0.0", port: 8080 }
 * @example parseListenAddress(":9000") // { hostname: "127.0.0.1", port: 9000 }
 * @throws Error when the port is not a number in 0..65535
 */
export function parseListenAddress(value: string): ListenAddress {
  const trimmed = value.trim().replace(/^https?:\/\//, "").replace(/\/+$/, "");
  const bracketed = /^\[([^\]]+)\](?::(\d*))?$/.exec(trimmed);
  const [host, port] = bracketed
    ? [bracketed[1], bracketed[2]]
    : trimmed.includes(":") && trimmed.indexOf(":") === trimmed.lastIndexOf(":")
      ? trimmed.split(":")
      : [trimmed, undefined];
  const hostname = host || defaultListenAddress.hostname;
  if (!port) return { hostname, port: defaultListenAddress.port };
  const number = Number(port);
  if (!/^\d+$/.test(port) || number > 65535) throw new Error(`invalid port in listen address ${JSON.stringify(value)}`);
  return { hostname, port: number };
}

/** The address as a URL clients can use. */
export function listenAddressUrl({ hostname, port }: ListenAddress): string {
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  return `http://${host}:${port}`;
}
