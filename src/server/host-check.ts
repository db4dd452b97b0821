/**
 * DNS rebinding: a page on `evil.example` re-points its name at 127.0.0.1
 * and then calls the gateway as its own origin. The browser still sends
 * `Host: evil.example`, so on a loopback listener only local names and IP
 * literals are served (as Ollama's allowed-hosts check does), plus the
 * names an operator lists. On other listeners every host is served unless
 * a list is given.
 */
import type { Context, MiddlewareHandler } from "hono";
import { networkInterfaces, hostname as machineName } from "node:os";
import { isInternalAddress, isLocalName, unbracketed } from "../http/internal-address.ts";
import { wildcardPattern } from "../http/wildcard-pattern.ts";

export interface HostCheckOptions {
  /** The address the gateway listens on. */
  readonly listenHostname: string;
  /** `MODELGATE_ALLOWED_HOSTS`: more names to serve, `*` wildcards (`*` alone: any). Setting it checks non-loopback listeners too. */
  readonly hosts?: readonly string[];
  /** The refusal; a plain 403 by default. */
  readonly onRefused?: (c: Context, host: string) => Response | Promise<Response>;
}

/** @example app.use("*", hostCheck({ listenHostname: "127.0.0.1", hosts: ["gateway.lan"] })) */
export function hostCheck(options: HostCheckOptions): MiddlewareHandler {
  const listed = options.hosts ?? [];
  const onRefused = options.onRefused ?? ((c: Context) => c.text("Forbidden", 403));
  if (!isLoopbackListener(options.listenHostname) && listed.length === 0) return (_c, next) => next();
  const extra = wildcardPattern(listed);
  // `Host` values the name alone makes local: a client sends the same one every time, and the IP checks cost microseconds.
  const local = new Set<string>();
  return async (c, next) => {
    const host = c.req.header("host") ?? "";
    if (local.has(host)) return next();
    const name = hostName(host);
    if (isLocal(name) || extra.test(name)) {
      if (local.size < maxRemembered) local.add(host);
      return next();
    }
    if (isThisMachine(name)) return next();
    return onRefused(c, host);
  };
}

/** Distinct `Host` values remembered: a client cannot grow the set without end. */
const maxRemembered = 64;

function isLoopbackListener(hostname: string): boolean {
  const name = unbracketed(hostname).toLowerCase();
  return name === "localhost" || name === "::1" || /^127\./.test(name);
}

/** `Host` without its port or IPv6 brackets, lowercase. */
function hostName(host: string): string {
  const bracketed = /^\[([^\]]*)\]/.exec(host);
  if (bracketed) return bracketed[1]!.toLowerCase();
  return host.replace(/:\d*$/, "").toLowerCase();
}

/** Ollama's allowedHost and its IP checks: local names, private and local addresses. */
function isLocal(name: string): boolean {
  return name === "" || isLocalName(name) || isInternalAddress(name);
}

/** This machine's name or one of its addresses: system calls, so asked after the rest, and every time (either may change). */
function isThisMachine(name: string): boolean {
  return name === machineName().toLowerCase() || isInterfaceAddress(name);
}

/** An address of one of this machine's interfaces (a public IP literal of this host). */
function isInterfaceAddress(name: string): boolean {
  return Object.values(networkInterfaces()).some((addresses) => addresses?.some((entry) => entry.address.toLowerCase() === name));
}
