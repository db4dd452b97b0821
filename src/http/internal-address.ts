/**
 * Addresses that name this machine or its private networks: what a web page
 * must not reach through the gateway, and what a remote server must not send
 * the gateway to.
 */
import { BlockList, isIP } from "node:net";

const internal = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8], // "this network"; 0.0.0.0 reaches the local host
  ["10.0.0.0", 8],
  ["100.64.0.0", 10], // carrier-grade NAT
  ["127.0.0.0", 8],
  ["169.254.0.0", 16], // link-local, where cloud metadata services answer
  ["172.16.0.0", 12],
  ["192.168.0.0", 16],
] as const) {
  internal.addSubnet(network, prefix, "ipv4");
}
for (const [network, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7], // unique local
  ["fe80::", 10], // link-local
] as const) {
  internal.addSubnet(network, prefix, "ipv6");
}

/** `[::1]` → `::1`; `127.0.0.1` stays; a name stays. */
export function unbracketed(hostname: string): string {
  return hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
}

/**
 * An IP literal (brackets allowed) in a loopback, private, link-local or
 * unspecified range, IPv4-mapped IPv6 included.
 */
export function isInternalAddress(hostname: string): boolean {
  const address = unbracketed(hostname).toLowerCase();
  const family = isIP(address);
  if (family === 0) return false;
  const mapped = mappedIPv4(address);
  if (mapped) return internal.check(mapped, "ipv4");
  return internal.check(address, family === 4 ? "ipv4" : "ipv6");
}

/** `::ffff:127.0.0.1`, or `::ffff:7f00:1` as URLs write it, → `127.0.0.1`. */
function mappedIPv4(address: string): string | undefined {
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address)?.[1];
  if (dotted) return dotted;
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(address);
  if (!hex) return undefined;
  const [high, low] = [parseInt(hex[1]!, 16), parseInt(hex[2]!, 16)];
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join(".");
}

/** Names that only ever resolve to this machine or its local network (RFC 6761, mDNS, `.internal`). */
export function isLocalName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, "");
  return name === "localhost" || [".localhost", ".local", ".internal"].some((suffix) => name.endsWith(suffix));
}
