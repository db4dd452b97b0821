/**
 * An OCI distribution client (the subset a model store needs): manifests,
 * blobs with Range for resuming, existence checks, cross-repository mounts,
 * monolithic uploads. Authentication is learnt from 401 challenges; plain
 * HTTP only for loopback registries or when asked (`insecure`).
 *
 * Replies are treated as hostile: read whole only up to a limit, redirects
 * followed only where a blob may move to a CDN, and a body passed on only
 * when it is the registry's own error JSON. Anything else that goes wrong (a
 * refused connection, a page that is not a registry's) reads the same to the
 * client, so a pull is no port scanner; the log keeps the detail.
 */
import type { Readable } from "node:stream";
import { request, type Dispatcher } from "undici";
import { readBounded, ReplyTooLargeError } from "../../http/bounded-read.ts";
import type { BlobBody, OpenBlob } from "../store/blob-writer.ts";
import { digestHex, type Sha256Digest } from "../store/digest.ts";
import { InvalidManifestError, manifestMediaType, maxManifestBytes, parseManifest, type ManifestBlob } from "../store/manifest.ts";
import { manifestMediaTypes } from "../store/media-types.ts";
import { dockerHubRegistry, type NamedReference } from "../reference.ts";
import { createRemotePolicy, RemoteRefusedError, type RemotePolicy } from "../remote-policy.ts";
import { createRegistryAuth, RegistryAuthError, type CredentialsLookup, type RegistryAuth } from "./registry-auth.ts";
import { parseWWWAuthenticate } from "./www-authenticate.ts";

export interface RegistryClientOptions {
  readonly credentials?: CredentialsLookup;
  /** undici dispatcher (connection pools, proxies); the global one by default. */
  readonly dispatcher?: Dispatcher;
  /** Which registries, token servers and download hosts may be contacted; see `createRemotePolicy`. */
  readonly policy?: RemotePolicy;
}

/** Where a request goes: a repository, what we will do there, whether plain HTTP is allowed. */
export interface RepositoryTarget {
  readonly reference: NamedReference;
  readonly push?: boolean;
  readonly insecure?: boolean;
}

export interface RegistryClient {
  /** @throws RegistryError (404: no such model or tag) */
  getManifest(target: RepositoryTarget, signal?: AbortSignal): Promise<ManifestBlob>;
  /** A blob as a resumable source for the store's blob writer. */
  openBlob(target: RepositoryTarget, digest: Sha256Digest): OpenBlob;
  hasBlob(target: RepositoryTarget, digest: Sha256Digest, signal?: AbortSignal): Promise<boolean>;
  /** Links a blob the registry already holds under another repository; false when it will not. */
  mountBlob(target: RepositoryTarget, digest: Sha256Digest, fromRepository: string, signal?: AbortSignal): Promise<boolean>;
  uploadBlob(target: RepositoryTarget, digest: Sha256Digest, size: number, body: () => Readable, signal?: AbortSignal): Promise<void>;
  putManifest(target: RepositoryTarget, manifest: ManifestBlob, signal?: AbortSignal): Promise<void>;
}

/**
 * A registry answered with an error; `status` is its HTTP status, or 502
 * when it did not answer as a registry. `detail` is for the log only.
 */
export class RegistryError extends Error {
  override readonly name = "RegistryError";
  readonly detail?: string;
  constructor(
    readonly status: number,
    message: string,
    options: ErrorOptions & { detail?: string } = {},
  ) {
    super(message, options);
    if (options.detail) this.detail = options.detail;
  }
}

interface Send {
  /** What we were doing, for messages: `pulling manifest of …`. */
  readonly what: string;
  readonly method: Dispatcher.HttpMethod;
  readonly headers?: Record<string, string>;
  readonly body?: () => Readable | Uint8Array;
  readonly signal?: AbortSignal;
  /** Blobs may live behind a redirect (a CDN, a signed storage URL); nothing else is followed. */
  readonly followRedirects?: boolean;
}

const maxRedirects = 5;
/** A registry's `{"errors": [...]}` is small; a bigger error body is not one. */
const maxErrorBodyBytes = 64 * 1024;

export function createRegistryClient(options: RegistryClientOptions = {}): RegistryClient {
  const policy = options.policy ?? createRemotePolicy();
  const auth: RegistryAuth = createRegistryAuth({ ...options, policy });

  const baseUrl = (target: RepositoryTarget) => {
    const { registry, repository } = target.reference;
    const host = registry === dockerHubRegistry ? "registry-1.docker.io" : registry;
    const scheme = target.insecure || isLoopback(host) ? "http" : "https";
    return `${scheme}://${host}/v2/${repository}`;
  };

  const scopeOf = (target: RepositoryTarget) => `repository:${target.reference.repository}:${target.push ? "pull,push" : "pull"}`;

  /**
   * One request, authenticated: a 401 is answered once and the request
   * replayed (bodies are factories, so they can be sent again). Redirects
   * are followed by hand, each hop checked by the policy, and credentials
   * never travel to another host.
   */
  const send = async (target: RepositoryTarget, url: string, init: Send): Promise<Dispatcher.ResponseData> => {
    const registry = target.reference.registry;
    const origin = new URL(baseUrl(target));
    policy.checkRegistry(new URL(`${origin.protocol}//${registry}`));
    const scope = scopeOf(target);
    let location = new URL(url);
    let answered = false;
    for (let hop = 0; hop <= maxRedirects; ) {
      const sameHost = location.origin === origin.origin;
      if (!sameHost) policy.checkFollowUp(location, origin, "redirect");
      const authorization = sameHost ? auth.header(registry, scope) : undefined;
      const response = await asRegistryFailure(registry, init.what, init.signal, () =>
        request(location, {
          method: init.method,
          headers: { ...init.headers, ...(authorization ? { authorization } : {}) },
          body: init.body?.(),
          dispatcher: options.dispatcher,
          signal: init.signal,
        }),
      );
      if (response.statusCode === 401 && sameHost) {
        const message = await registryMessage(response);
        if (answered) throw new RegistryAuthError(`${registry} refused the credentials for ${scope}${message ? `: ${message}` : ""}`);
        answered = true;
        const challenge = headerValue(response.headers["www-authenticate"]);
        const schemes = parseWWWAuthenticate(challenge ?? "").map((item) => item.scheme);
        if (!schemes.includes("bearer") && !schemes.includes("basic")) throw notARegistry(registry, "HTTP 401 without a Bearer or Basic challenge", init.what);
        await asRegistryFailure(registry, init.what, init.signal, () => auth.answer(registry, origin, scope, challenge, init.signal));
        continue;
      }
      const next = headerValue(response.headers.location);
      if (init.followRedirects && response.statusCode >= 300 && response.statusCode < 400 && next) {
        await response.body.dump();
        location = new URL(next, location);
        hop += 1;
        continue;
      }
      return response;
    }
    throw notARegistry(registry, `more than ${maxRedirects} redirects from ${url}`, init.what);
  };

  /** The registry's own error, or the one answer for everything else. */
  const fail = async (response: Dispatcher.ResponseData, what: string, registry: string): Promise<never> => {
    const message = await registryMessage(response);
    if (message === undefined) throw notARegistry(registry, `HTTP ${response.statusCode} without a registry error`, what);
    throw new RegistryError(response.statusCode, `${what}: ${message}`);
  };

  return {
    async getManifest(target, signal) {
      const { reference } = target;
      const what = `pulling manifest of ${reference}`;
      const url = `${baseUrl(target)}/manifests/${reference.digest ?? reference.tag}`;
      const response = await send(target, url, { what, method: "GET", headers: { accept: manifestMediaTypes.join(", ") }, signal });
      if (response.statusCode !== 200) return fail(response, what, reference.registry);
      let manifest: ManifestBlob;
      try {
        manifest = parseManifest(await readBounded(response.body, maxManifestBytes, response.headers["content-length"]));
      } catch (error) {
        if (error instanceof ReplyTooLargeError) throw new RegistryError(502, `${what}: the manifest is larger than ${maxManifestBytes} bytes`);
        if (error instanceof InvalidManifestError) throw notARegistry(reference.registry, error.message, what);
        throw error;
      }
      if (reference.digest && manifest.digest !== reference.digest) {
        throw new RegistryError(502, `the registry sent manifest ${manifest.digest} for ${reference.digest}`);
      }
      return manifest;
    },

    openBlob(target, digest) {
      const what = `pulling ${digestHex(digest).slice(0, 12)}`;
      return async (offset, signal): Promise<BlobBody> => {
        const headers: Record<string, string> = offset > 0 ? { range: `bytes=${offset}-` } : {};
        const url = `${baseUrl(target)}/blobs/${digest}`;
        const response = await send(target, url, { what, method: "GET", headers, signal, followRedirects: true });
        if (response.statusCode === 200) return { offset: 0, body: response.body };
        if (response.statusCode === 206) {
          const start = /^bytes (\d+)-/.exec(headerValue(response.headers["content-range"]) ?? "")?.[1];
          if (Number(start) === offset) return { offset, body: response.body };
          await response.body.dump();
          throw new RegistryError(502, `asked for ${digest} from byte ${offset}, the registry answered from ${start}`);
        }
        return fail(response, what, target.reference.registry);
      };
    },

    async hasBlob(target, digest, signal) {
      const what = `checking ${digest}`;
      // A HEAD has no body to echo, and storage-backed registries redirect it like the GET.
      const response = await send(target, `${baseUrl(target)}/blobs/${digest}`, { what, method: "HEAD", signal, followRedirects: true });
      await response.body.dump();
      if (response.statusCode === 200) return true;
      if (response.statusCode === 404) return false;
      throw notARegistry(target.reference.registry, `HTTP ${response.statusCode} to a HEAD`, what);
    },

    async mountBlob(target, digest, fromRepository, signal) {
      const query = new URLSearchParams({ mount: digest, from: fromRepository });
      const url = `${baseUrl(target)}/blobs/uploads/?${query}`;
      const response = await send(target, url, { what: `mounting ${digest}`, method: "POST", signal });
      await response.body.dump();
      // 202 means the registry opened an ordinary upload instead; it is left to expire.
      return response.statusCode === 201;
    },

    async uploadBlob(target, digest, size, body, signal) {
      const registry = target.reference.registry;
      const what = `uploading ${digest}`;
      // The POST is answered (and authenticated) before any byte of the body is sent.
      const started = await send(target, `${baseUrl(target)}/blobs/uploads/`, { what, method: "POST", signal });
      const location = headerValue(started.headers.location);
      if (started.statusCode !== 202 || !location) return fail(started, what, registry);
      await started.body.dump();
      // The upload goes where the registry says: a host of its choosing, checked like a redirect (by `send`).
      const url = URL.parse(location, baseUrl(target));
      if (!url) throw notARegistry(registry, `upload location ${JSON.stringify(location)}`, what);
      url.searchParams.set("digest", digest);
      const response = await send(target, url.href, {
        what,
        method: "PUT",
        headers: { "content-type": "application/octet-stream", "content-length": String(size) },
        body,
        signal,
      });
      if (response.statusCode !== 201) return fail(response, what, registry);
      await response.body.dump();
    },

    async putManifest(target, manifest, signal) {
      const { reference } = target;
      const what = `pushing the manifest of ${reference}`;
      const response = await send(target, `${baseUrl(target)}/manifests/${reference.tag}`, {
        what,
        method: "PUT",
        headers: { "content-type": manifestMediaType(manifest.manifest) },
        body: () => manifest.bytes,
        signal,
      });
      if (response.statusCode !== 201) return fail(response, what, reference.registry);
      await response.body.dump();
    },
  };
}

/** Loopback registries (tests, a local mirror) speak plain HTTP, as Docker allows. */
function isLoopback(host: string): boolean {
  const name = host.replace(/:\d+$/, "");
  return name === "localhost" || name === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(name);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The one message for a host that did not answer as a registry, however it
 * failed: a refused port, a timeout and a web page read alike.
 */
function notARegistry(registry: string, detail: string, what: string, cause?: unknown): RegistryError {
  const message = `${what}: ${registry} did not answer as an OCI registry`;
  return new RegistryError(502, message, { detail, ...(cause === undefined ? {} : { cause }) });
}

/**
 * Runs one exchange with a registry or its token server; a connection that
 * fails becomes {@link notARegistry} (the original kept as its `cause`, so a
 * broken download is still retried). Errors of our own making, and aborts,
 * pass unchanged.
 */
async function asRegistryFailure<T>(registry: string, what: string, signal: AbortSignal | undefined, exchange: () => Promise<T>): Promise<T> {
  try {
    return await exchange();
  } catch (error) {
    const ours = error instanceof RegistryError || error instanceof RegistryAuthError || error instanceof RemoteRefusedError;
    if (ours || signal?.aborted) throw error;
    throw notARegistry(registry, (error as Error).message, what, error);
  }
}

/**
 * The registry's own words (`{"errors":[{"code","message"}]}`), read up to
 * a limit; undefined when the body is anything else, which is never shown.
 */
async function registryMessage(response: Dispatcher.ResponseData): Promise<string | undefined> {
  let text: string;
  try {
    text = new TextDecoder().decode(await readBounded(response.body, maxErrorBodyBytes, response.headers["content-length"]));
  } catch {
    return undefined;
  }
  try {
    const body = JSON.parse(text) as { errors?: { code?: unknown; message?: unknown }[] };
    const first = Array.isArray(body.errors) ? body.errors[0] : undefined;
    if (typeof first?.code !== "string") return undefined;
    const message = typeof first.message === "string" ? first.message.slice(0, 500) : "";
    return `${first.code.slice(0, 100)}: ${message}`.trim();
  } catch {
    return undefined;
  }
}
