/**
 * The Hugging Face Hub, as far as pulling GGUF files goes: a repository's
 * file tree (`/api/models/{repo}/tree/main`, with each LFS file's sha256)
 * and the files themselves (`/{repo}/resolve/main/{path}`, usually a
 * redirect to a CDN, which supports Range). `HF_ENDPOINT` moves the host,
 * `HF_TOKEN` authenticates (never sent past a redirect to another host).
 */
import { request, type Dispatcher } from "undici";
import * as v from "valibot";
import { readBoundedText } from "../../http/bounded-read.ts";
import { createRemotePolicy, type RemotePolicy } from "../remote-policy.ts";
import type { OpenBlob } from "../store/blob-writer.ts";
import type { Sha256Digest } from "../store/digest.ts";
import { isSha256Digest } from "../reference.ts";

export const defaultHubEndpoint = "https://huggingface.co";

export interface HubClientOptions {
  /** `HF_ENDPOINT`; `https://huggingface.co` by default. */
  readonly endpoint?: string;
  /** `HF_TOKEN`. */
  readonly token?: string;
  readonly dispatcher?: Dispatcher;
  /** Which hosts may be contacted: the endpoint, and the CDN its downloads redirect to. */
  readonly policy?: RemotePolicy;
}

export interface HubFile {
  /** Inside the repository: `Q4_K_M/model-00001-of-00002.gguf`. */
  readonly path: string;
  readonly size: number;
  /** LFS files carry their sha256, so downloads are verified (and resumable). */
  readonly digest?: Sha256Digest;
}

export interface HubClient {
  /** @throws HubError (404: no such repository, or no access to it) */
  listFiles(repository: string, signal?: AbortSignal): Promise<HubFile[]>;
  openFile(repository: string, path: string): OpenBlob;
}

export class HubError extends Error {
  override readonly name = "HubError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const TreeEntrySchema = v.object({
  type: v.string(),
  path: v.string(),
  size: v.optional(v.number()),
  lfs: v.optional(v.nullable(v.object({ oid: v.string(), size: v.number() }))),
});

const maxRedirects = 5;
/** One page of a repository's file listing; the Hub's are a few hundred kilobytes at most. */
const maxListingBytes = 16 * 1024 * 1024;

/** @example createHubClient({ endpoint: process.env.HF_ENDPOINT, token: process.env.HF_TOKEN }) */
export function createHubClient(options: HubClientOptions = {}): HubClient {
  const endpoint = new URL(options.endpoint || defaultHubEndpoint);
  const policy = options.policy ?? createRemotePolicy();

  /** Downloads follow redirects to the CDN (checked like the Hub itself); listings stay on the Hub. */
  const get = async (url: URL, headers: Record<string, string>, signal?: AbortSignal, follow = false): Promise<Dispatcher.ResponseData> => {
    policy.checkRegistry(endpoint);
    let location = url;
    for (let hop = 0; hop <= maxRedirects; hop++) {
      if (location.origin !== endpoint.origin) policy.checkFollowUp(location, endpoint, "redirect");
      const authorization = options.token && location.origin === endpoint.origin ? { authorization: `Bearer ${options.token}` } : {};
      const response = await request(location, { headers: { ...headers, ...authorization }, dispatcher: options.dispatcher, signal });
      const next = response.headers.location;
      if (response.statusCode >= 300 && response.statusCode < 400 && typeof next === "string") {
        const target = new URL(next, location);
        if (!follow && target.origin !== endpoint.origin) return response;
        await response.body.dump();
        location = target;
        continue;
      }
      return response;
    }
    throw new HubError(508, `too many redirects from ${url}`);
  };

  // The Hub's bodies are never passed on: its status says enough.
  const fail = async (response: Dispatcher.ResponseData, what: string): Promise<never> => {
    await response.body.dump().catch(() => {});
    const status = response.statusCode;
    // The Hub answers 401 for private and missing repositories alike.
    const reason = status === 401 || status === 404 ? "not found (or private: set HF_TOKEN)" : `HTTP ${status}`;
    throw new HubError(status === 401 ? 404 : status, `${what}: ${reason}`);
  };

  const repoPath = (repository: string) => repository.split("/").map(encodeURIComponent).join("/");

  return {
    async listFiles(repository, signal) {
      const files: HubFile[] = [];
      let url: URL | undefined = new URL(`api/models/${repoPath(repository)}/tree/main?recursive=true`, withSlash(endpoint));
      while (url) {
        const response = await get(url, { accept: "application/json" }, signal);
        if (response.statusCode !== 200) return fail(response, `listing ${repository}`);
        const listing = await readBoundedText(response.body, maxListingBytes, response.headers["content-length"]);
        const entries = v.parse(v.array(TreeEntrySchema), JSON.parse(listing));
        for (const entry of entries) {
          if (entry.type !== "file") continue;
          const digest = entry.lfs ? `sha256:${entry.lfs.oid}` : undefined;
          files.push({
            path: entry.path,
            size: entry.lfs?.size ?? entry.size ?? 0,
            ...(digest && isSha256Digest(digest) ? { digest } : {}),
          });
        }
        // Large repositories are paged: `Link: <…>; rel="next"`.
        const next = /<([^>]+)>;\s*rel="next"/.exec(String(response.headers.link ?? ""))?.[1];
        url = next ? new URL(next, url) : undefined;
        if (url && url.origin !== endpoint.origin) throw new HubError(502, `listing ${repository}: the next page is on another host`);
      }
      return files;
    },

    openFile(repository, path) {
      const url = new URL(`${repoPath(repository)}/resolve/main/${path.split("/").map(encodeURIComponent).join("/")}`, withSlash(endpoint));
      return async (offset, signal) => {
        const response = await get(url, offset > 0 ? { range: `bytes=${offset}-` } : {}, signal, true);
        if (response.statusCode === 200) return { offset: 0, body: response.body };
        if (response.statusCode === 206) {
          const start = Number(/^bytes (\d+)-/.exec(String(response.headers["content-range"] ?? ""))?.[1]);
          if (start === offset) return { offset, body: response.body };
          await response.body.dump();
          throw new HubError(502, `asked for ${path} from byte ${offset}, the Hub answered from ${start}`);
        }
        return fail(response, `downloading ${repository}/${path}`);
      };
    },
  };
}

/** `new URL(relative, base)` drops the base's last segment unless it ends in `/` (an endpoint with a path prefix). */
function withSlash(url: URL): URL {
  return url.pathname.endsWith("/") ? url : new URL(`${url.href}/`);
}
