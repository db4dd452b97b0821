/**
 * An OCI distribution client (the subset a model store needs): manifests,
 * blobs with Range for resuming, existence checks, cross-repository mounts,
 * monolithic uploads. Authentication is learnt from 401 challenges; plain
 * HTTP only for loopback registries or when asked (`insecure`).
 */
import type { Readable } from "node:stream";
import { request, type Dispatcher } from "undici";
import type { BlobBody, OpenBlob } from "../store/blob-writer.ts";
import { digestHex, type Sha256Digest } from "../store/digest.ts";
import { manifestMediaType, maxManifestBytes, parseManifest, type ManifestBlob } from "../store/manifest.ts";
import { manifestMediaTypes } from "../store/media-types.ts";
import { dockerHubRegistry, type NamedReference } from "../reference.ts";
import { createRegistryAuth, RegistryAuthError, type CredentialsLookup, type RegistryAuth } from "./registry-auth.ts";

export interface RegistryClientOptions {
  readonly credentials?: CredentialsLookup;
  /** undici dispatcher (connection pools, proxies); the global one by default. */
  readonly dispatcher?: Dispatcher;
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

/** A registry answered with an error; `status` is its HTTP status. */
export class RegistryError extends Error {
  override readonly name = "RegistryError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface Send {
  readonly method: Dispatcher.HttpMethod;
  readonly headers?: Record<string, string>;
  readonly body?: () => Readable | Uint8Array;
  readonly signal?: AbortSignal;
}

const maxRedirects = 5;

export function createRegistryClient(options: RegistryClientOptions = {}): RegistryClient {
  const auth: RegistryAuth = createRegistryAuth(options);

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
   * are followed by hand so credentials never travel to another host.
   */
  const send = async (target: RepositoryTarget, url: string, init: Send): Promise<Dispatcher.ResponseData> => {
    const registry = target.reference.registry;
    const scope = scopeOf(target);
    let location = new URL(url);
    let answered = false;
    for (let hop = 0; hop <= maxRedirects; ) {
      const sameHost = location.origin === new URL(baseUrl(target)).origin;
      const authorization = sameHost ? auth.header(registry, scope) : undefined;
      const response = await request(location, {
        method: init.method,
        headers: { ...init.headers, ...(authorization ? { authorization } : {}) },
        body: init.body?.(),
        dispatcher: options.dispatcher,
        signal: init.signal,
      });
      if (response.statusCode === 401 && sameHost) {
        const text = await response.body.text().catch(() => "");
        if (answered) throw new RegistryAuthError(`${registry} refused the credentials for ${scope}: ${registryMessage(401, text)}`);
        answered = true;
        await auth.answer(registry, scope, headerValue(response.headers["www-authenticate"]), init.signal);
        continue;
      }
      const next = headerValue(response.headers.location);
      if (response.statusCode >= 300 && response.statusCode < 400 && next && init.method !== "POST") {
        await response.body.dump();
        location = new URL(next, location);
        hop += 1;
        continue;
      }
      return response;
    }
    throw new RegistryError(508, `too many redirects from ${url}`);
  };

  const fail = async (response: Dispatcher.ResponseData, what: string): Promise<never> => {
    const text = await response.body.text().catch(() => "");
    throw new RegistryError(response.statusCode, `${what}: ${registryMessage(response.statusCode, text)}`);
  };

  return {
    async getManifest(target, signal) {
      const { reference } = target;
      const url = `${baseUrl(target)}/manifests/${reference.digest ?? reference.tag}`;
      const response = await send(target, url, { method: "GET", headers: { accept: manifestMediaTypes.join(", ") }, signal });
      if (response.statusCode !== 200) return fail(response, `pulling manifest of ${reference}`);
      const length = Number(headerValue(response.headers["content-length"]) ?? 0);
      if (length > maxManifestBytes) {
        await response.body.dump();
        throw new RegistryError(502, `the manifest of ${reference} is larger than ${maxManifestBytes} bytes`);
      }
      const manifest = parseManifest(new Uint8Array(await response.body.arrayBuffer()));
      if (reference.digest && manifest.digest !== reference.digest) {
        throw new RegistryError(502, `the registry sent manifest ${manifest.digest} for ${reference.digest}`);
      }
      return manifest;
    },

    openBlob(target, digest) {
      return async (offset, signal): Promise<BlobBody> => {
        const headers: Record<string, string> = offset > 0 ? { range: `bytes=${offset}-` } : {};
        const response = await send(target, `${baseUrl(target)}/blobs/${digest}`, { method: "GET", headers, signal });
        if (response.statusCode === 200) return { offset: 0, body: response.body };
        if (response.statusCode === 206) {
          const start = /^bytes (\d+)-/.exec(headerValue(response.headers["content-range"]) ?? "")?.[1];
          if (Number(start) === offset) return { offset, body: response.body };
          await response.body.dump();
          throw new RegistryError(502, `asked for ${digest} from byte ${offset}, the registry answered from ${start}`);
        }
        return fail(response, `pulling ${digestHex(digest).slice(0, 12)}`);
      };
    },

    async hasBlob(target, digest, signal) {
      const response = await send(target, `${baseUrl(target)}/blobs/${digest}`, { method: "HEAD", signal });
      await response.body.dump();
      if (response.statusCode === 200) return true;
      if (response.statusCode === 404) return false;
      throw new RegistryError(response.statusCode, `checking ${digest}: ${registryMessage(response.statusCode, "")}`);
    },

    async mountBlob(target, digest, fromRepository, signal) {
      const query = new URLSearchParams({ mount: digest, from: fromRepository });
      const response = await send(target, `${baseUrl(target)}/blobs/uploads/?${query}`, { method: "POST", signal });
      await response.body.dump();
      // 202 means the registry opened an ordinary upload instead; it is left to expire.
      return response.statusCode === 201;
    },

    async uploadBlob(target, digest, size, body, signal) {
      // The POST is answered (and authenticated) before any byte of the body is sent.
      const started = await send(target, `${baseUrl(target)}/blobs/uploads/`, { method: "POST", signal });
      const location = headerValue(started.headers.location);
      if (started.statusCode !== 202 || !location) return fail(started, `starting the upload of ${digest}`);
      await started.body.dump();
      const url = new URL(location, baseUrl(target));
      url.searchParams.set("digest", digest);
      const response = await send(target, url.href, {
        method: "PUT",
        headers: { "content-type": "application/octet-stream", "content-length": String(size) },
        body,
        signal,
      });
      if (response.statusCode !== 201) return fail(response, `uploading ${digest}`);
      await response.body.dump();
    },

    async putManifest(target, manifest, signal) {
      const { reference } = target;
      const response = await send(target, `${baseUrl(target)}/manifests/${reference.tag}`, {
        method: "PUT",
        headers: { "content-type": manifestMediaType(manifest.manifest) },
        body: () => manifest.bytes,
        signal,
      });
      if (response.statusCode !== 201) return fail(response, `pushing the manifest of ${reference}`);
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

/** The registry's own words (`{"errors":[{"code","message"}]}`) when it sent some. */
function registryMessage(status: number, text: string): string {
  try {
    const body = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
    const first = body.errors?.[0];
    if (first) return `${first.code ?? status}: ${first.message ?? ""}`.trim();
  } catch {
    // not JSON: fall through to the status
  }
  return `HTTP ${status}${text ? ` ${text.slice(0, 200)}` : ""}`;
}
