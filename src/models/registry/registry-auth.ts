/**
 * Registry authentication as distribution specifies it: try without
 * credentials; a 401 names what it wants in `WWW-Authenticate`. `Bearer`
 * sends us to a token server (with Basic credentials when we have some) for
 * a token scoped to the repository and actions; `Basic` takes the
 * credentials directly. Answers are kept per registry and scope.
 */
import { request, type Dispatcher } from "undici";
import * as v from "valibot";
import { readBoundedText } from "../../http/bounded-read.ts";
import { createRemotePolicy, type RemotePolicy } from "../remote-policy.ts";
import { parseWWWAuthenticate } from "./www-authenticate.ts";

export interface RegistryCredentials {
  readonly username: string;
  readonly password: string;
}

/** Credentials for a registry host (`localhost:5000`, `docker.io`), if any. */
export type CredentialsLookup = (registry: string) => RegistryCredentials | undefined;

/** The registry (or its token server) refused us. Maps to a 401/403 for the caller. */
export class RegistryAuthError extends Error {
  override readonly name = "RegistryAuthError";
}

export interface RegistryAuth {
  /** The `Authorization` value learnt for this registry and scope, if any. */
  header(registry: string, scope: string): string | undefined;
  /**
   * Answers a 401 challenge from the registry at `origin`; resolves to the header to retry with.
   *
   * @throws RegistryAuthError when there is no way to satisfy it
   * @throws RemoteRefusedError when the token server is not one the policy lets us ask
   */
  answer(registry: string, origin: URL, scope: string, challenge: string | undefined, signal?: AbortSignal): Promise<string>;
}

export interface RegistryAuthOptions {
  readonly credentials?: CredentialsLookup;
  readonly dispatcher?: Dispatcher;
  /** Which token servers may be asked; a token realm gets the registry's own checks. */
  readonly policy?: RemotePolicy;
}

const TokenResponseSchema = v.object({ token: v.optional(v.string()), access_token: v.optional(v.string()) });

/** A token reply is a few kilobytes of JSON; anything near this is not one. */
const maxTokenReplyBytes = 1024 * 1024;

export function createRegistryAuth(options: RegistryAuthOptions = {}): RegistryAuth {
  const policy = options.policy ?? createRemotePolicy();
  const headers = new Map<string, string>();
  const key = (registry: string, scope: string) => `${registry} ${scope}`;

  const basic = (credentials: RegistryCredentials) =>
    `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`;

  const fetchToken = async (
    origin: URL,
    params: Record<string, string>,
    scope: string,
    credentials: RegistryCredentials | undefined,
    signal?: AbortSignal,
  ) => {
    const realm = URL.parse(params.realm ?? "");
    if (!realm) throw new RegistryAuthError("the registry asked for a bearer token without naming a token server");
    policy.checkFollowUp(realm, origin, "token server");
    const url = new URL(realm);
    if (params.service) url.searchParams.set("service", params.service);
    for (const item of (params.scope ?? scope).split(" ")) url.searchParams.append("scope", item);
    if (credentials) url.searchParams.set("account", credentials.username);
    // Never redirected: the credentials go to this host and no other.
    const response = await request(url, {
      headers: credentials ? { authorization: basic(credentials) } : {},
      dispatcher: options.dispatcher,
      signal,
    });
    // Its words are never passed on: only that it refused.
    if (response.statusCode !== 200) {
      await response.body.dump().catch(() => {});
      throw new RegistryAuthError(`token server ${url.host} refused (HTTP ${response.statusCode})`);
    }
    const text = await readBoundedText(response.body, maxTokenReplyBytes, response.headers["content-length"]);
    const body = v.safeParse(TokenResponseSchema, safeJson(text));
    const token = body.success ? (body.output.token ?? body.output.access_token) : undefined;
    if (!token) throw new RegistryAuthError(`token server ${url.host} sent no token`);
    return `Bearer ${token}`;
  };

  return {
    header: (registry, scope) => headers.get(key(registry, scope)),

    async answer(registry, origin, scope, challenge, signal) {
      const credentials = options.credentials?.(registry);
      const challenges = parseWWWAuthenticate(challenge ?? "");
      const bearer = challenges.find((item) => item.scheme === "bearer");
      let header: string;
      if (bearer) header = await fetchToken(origin, bearer.params, scope, credentials, signal);
      else if (challenges.some((item) => item.scheme === "basic") && credentials) header = basic(credentials);
      else throw new RegistryAuthError(`${registry} requires authentication${credentials ? "" : " and no credentials are configured"}`);
      if (headers.get(key(registry, scope)) === header) {
        throw new RegistryAuthError(`${registry} refused the credentials for ${scope}`);
      }
      headers.set(key(registry, scope), header);
      return header;
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
