/**
 * Where pulls and pushes may go. A model name picks its registry, and the
 * registry's replies pick more hosts (a token server, a CDN behind a
 * redirect, an upload location): each of those gets the checks the registry
 * itself gets, and may not lead from a public host into this machine or its
 * private networks.
 */
import { isInternalAddress, isLocalName, unbracketed } from "../http/internal-address.ts";
import { wildcardPattern } from "../http/wildcard-pattern.ts";

export interface RemotePolicyOptions {
  /**
   * `MODELGATE_ALLOWED_REGISTRIES`: when set, the only hosts contacted at all
   * (registries, token servers, download hosts). `host` matches any port,
   * `host:port` that port, `*.example.com` any subdomain.
   */
  readonly allowedHosts?: readonly string[];
}

/** A host the policy does not let the gateway contact. */
export class RemoteRefusedError extends Error {
  override readonly name = "RemoteRefusedError";
}

export interface RemotePolicy {
  /**
   * A registry (or Hub) a model name points at.
   *
   * @throws RemoteRefusedError
   */
  checkRegistry(url: URL): void;
  /**
   * A URL a registry's reply points at, `what` it is for the message
   * (`token server`, `redirect`).
   *
   * @throws RemoteRefusedError
   */
  checkFollowUp(url: URL, registry: URL, what: string): void;
}

/** @example createRemotePolicy({ allowedHosts: ["registry.ollama.ai", "*.r2.cloudflarestorage.com"] }) */
export function createRemotePolicy(options: RemotePolicyOptions = {}): RemotePolicy {
  const allowed = options.allowedHosts && wildcardPattern(options.allowedHosts);
  const listed = (url: URL) => !allowed || allowed.test(url.host) || allowed.test(url.hostname);
  const refuse = (message: string): never => {
    throw new RemoteRefusedError(message);
  };

  return {
    checkRegistry(url) {
      if (!listed(url)) refuse(`${url.host} is not in MODELGATE_ALLOWED_REGISTRIES`);
    },

    checkFollowUp(url, registry, what) {
      if (url.protocol !== "https:" && url.protocol !== "http:") refuse(`the registry ${registry.host} sent a ${what} to a ${url.protocol} URL`);
      // Plain HTTP only where the registry itself speaks it.
      if (url.protocol === "http:" && registry.protocol === "https:") refuse(`the registry ${registry.host} sent a ${what} to plain HTTP`);
      if (isInternal(url) && !isInternal(registry)) refuse(`the registry ${registry.host} sent a ${what} to a local address`);
      if (!listed(url)) refuse(`the registry ${registry.host} sent a ${what} to ${url.host}, which is not in MODELGATE_ALLOWED_REGISTRIES`);
    },
  };
}

function isInternal(url: URL): boolean {
  return isInternalAddress(url.hostname) || isLocalName(unbracketed(url.hostname));
}
