/**
 * Model references, normalised the way Docker Model Runner and Ollama do it,
 * and checked so that nothing a client sends can reach outside the store or a
 * registry path: every accepted name is a sequence of components drawn from a
 * small alphabet, so `..`, `/abs`, `\`, `%2e` and control characters never
 * survive parsing.
 *
 * @example parseModelReference("tiny").toString()            // "tiny:latest"
 * @example parseModelReference("hf.co/Org/Repo:Q8_0").canonical // "huggingface.co/org/repo:Q8_0"
 */

/** Docker Hub, where Docker Model Runner's models live (`ai/…`). */
export const dockerHubRegistry = "docker.io";
/** Ollama's library: where bare names go, as every Ollama client expects. */
export const ollamaRegistry = "registry.ollama.ai";
/** Where a name without a host goes: Ollama's registry unless `MODELGATE_DEFAULT_REGISTRY` says otherwise. */
export const defaultRegistry = process.env.MODELGATE_DEFAULT_REGISTRY?.trim().toLowerCase() || ollamaRegistry;
/** A one-part name's namespace: `library` (Ollama's), or `ai` on Docker Hub (Docker Model Runner's). */
export const defaultNamespace = defaultRegistry === dockerHubRegistry ? "ai" : "library";
/** Docker Model Runner's namespace: `ai/x` without a host stays on Docker Hub. */
const dockerModelNamespace = "ai";
export const defaultTag = "latest";
export const huggingFaceRegistry = "huggingface.co";

/** Docker's limit for a whole repository name; tags are limited separately. */
const maxNameLength = 255;
const maxComponentLength = 128;
const maxTagLength = 128;

const registryAliases: Readonly<Record<string, string>> = {
  "hf.co": huggingFaceRegistry,
  "index.docker.io": dockerHubRegistry,
  "registry-1.docker.io": dockerHubRegistry,
  "ollama.com": ollamaRegistry,
};

// Docker's grammar (distribution/reference), lowercase only.
const componentPattern = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const tagPattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const hostPattern = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?::[0-9]{1,5})?$/;
const ipv6HostPattern = /^\[[0-9a-f:.]+\](?::[0-9]{1,5})?$/;
const hexDigestPattern = /^[a-f0-9]{64}$/;
const shortIdPattern = /^[a-f0-9]{12}$/;

/** A reference that cannot name a model. Maps to a 400. */
export class InvalidReferenceError extends Error {
  override readonly name = "InvalidReferenceError";
  constructor(
    readonly reference: string,
    reason: string,
  ) {
    super(`invalid model reference ${JSON.stringify(truncate(reference))}: ${reason}`);
  }
}

export type Sha256Digest = `sha256:${string}`;

/** A model named by repository, with a tag or a digest. */
export interface NamedReference {
  readonly kind: "name";
  /** Host (and port) of the registry, aliases resolved: `docker.io`, `huggingface.co`, `localhost:5000`. */
  readonly registry: string;
  /** Path inside the registry, lowercased, namespace included: `ai/tiny`. */
  readonly repository: string;
  /** Case kept (`Q4_K_M` means something on Hugging Face). */
  readonly tag: string;
  /** Pins the manifest when present (`name@sha256:…`). */
  readonly digest?: Sha256Digest;
  /** Everything spelled out: `docker.io/ai/tiny:latest`. The key tags are stored under. */
  readonly canonical: string;
  /** What people read: the default registry and namespace dropped: `tiny:latest`. */
  toString(): string;
}

/** A model named by its ID: `sha256:<64 hex>`, or 64 or 12 bare hex digits. */
export interface IdReference {
  readonly kind: "id";
  /** Lowercase hex, 12 or 64 digits. */
  readonly hex: string;
  /** Bare hex is a valid name too: the store tries the ID first, then this. */
  readonly name?: NamedReference;
  toString(): string;
}

export type ModelReference = NamedReference | IdReference;

/**
 * @throws InvalidReferenceError for anything that is not a model reference
 */
export function parseModelReference(input: string): ModelReference {
  const trimmed = input.trim();
  rejectUnsafeCharacters(input, trimmed);
  const lower = trimmed.toLowerCase();
  if (lower.startsWith("sha256:")) {
    const hex = lower.slice("sha256:".length);
    if (!hexDigestPattern.test(hex)) throw new InvalidReferenceError(input, "a digest is sha256: and 64 hex digits");
    return idReference(hex);
  }
  if (hexDigestPattern.test(trimmed) || shortIdPattern.test(trimmed)) {
    return idReference(trimmed, parseNamedReference(trimmed));
  }
  return parseNamedReference(input);
}

/**
 * Like {@link parseModelReference}, for places that need a name (pull, push, tag).
 *
 * @throws InvalidReferenceError when the input is not a name (an ID, or invalid)
 */
export function parseNamedReference(input: string): NamedReference {
  const trimmed = input.trim();
  rejectUnsafeCharacters(input, trimmed);
  if (trimmed === "") throw new InvalidReferenceError(input, "it is empty");

  const at = trimmed.indexOf("@");
  const digest = at === -1 ? undefined : parseDigest(input, trimmed.slice(at + 1));
  const withoutDigest = at === -1 ? trimmed : trimmed.slice(0, at);

  // A tag only after the last `/`: a `:` before it belongs to a registry port.
  const lastSlash = withoutDigest.lastIndexOf("/");
  const colon = withoutDigest.indexOf(":", lastSlash + 1);
  const path = colon === -1 ? withoutDigest : withoutDigest.slice(0, colon);
  const tag = colon === -1 ? "" : withoutDigest.slice(colon + 1);

  const { registry, repository } = splitRegistry(input, path.toLowerCase());
  return namedReference(registry, repository, validTag(input, tag || defaultTag), digest);
}

/**
 * A name to give a model (a tag, a copy, a create), refused where Docker
 * refuses it: with a digest (the tag would name what it cannot pin, and no
 * name could remove it), or looking like an ID (`sha256:<64 hex>`, 64 or 12
 * bare hex digits), which lookups by ID would shadow.
 *
 * @throws InvalidReferenceError
 */
export function parseNewModelName(input: string): NamedReference {
  const reference = parseNamedReference(input);
  if (reference.digest) throw new InvalidReferenceError(input, "a new name cannot have a digest (@sha256:…)");
  const trimmed = input.trim().toLowerCase();
  const name = String(reference).slice(0, -`:${reference.tag}`.length);
  if (trimmed.startsWith("sha256:") || hexDigestPattern.test(name) || shortIdPattern.test(name)) {
    throw new InvalidReferenceError(input, "a name cannot look like a model ID (sha256:<64 hex>, or 64 or 12 hex digits)");
  }
  return reference;
}

/** The same repository with another tag (push targets, HF quantizations). */
export function withTag(reference: NamedReference, tag: string): NamedReference {
  return namedReference(reference.registry, reference.repository, validTag(tag, tag));
}

/** `sha256:<64 hex>`, checked. */
export function isSha256Digest(value: string): value is Sha256Digest {
  return value.startsWith("sha256:") && hexDigestPattern.test(value.slice("sha256:".length));
}

function namedReference(registry: string, repository: string, tag: string, digest?: Sha256Digest): NamedReference {
  const suffix = `:${tag}${digest ? `@${digest}` : ""}`;
  const canonical = `${registry}/${repository}${suffix}`;
  const familiar = familiarName(registry, repository) + suffix;
  return {
    kind: "name",
    registry,
    repository,
    tag,
    ...(digest ? { digest } : {}),
    canonical,
    toString: () => familiar,
  };
}

function idReference(hex: string, name?: NamedReference): IdReference {
  return { kind: "id", hex, ...(name ? { name } : {}), toString: () => `sha256:${hex}` };
}

/** The shortest spelling that parses back to the same name. */
function familiarName(registry: string, repository: string): string {
  const [namespace, ...rest] = repository.split("/");
  if (registry === defaultRegistry && namespace === defaultNamespace && rest.length === 1) return rest[0]!;
  if (registry === hostlessRegistry(namespace!)) return repository;
  return `${registry}/${repository}`;
}

/**
 * The registry of a name without a host: Docker Model Runner's `ai/…` on
 * Docker Hub, anything else on the default registry (Ollama's `user/model`).
 */
function hostlessRegistry(namespace: string): string {
  return namespace === dockerModelNamespace ? dockerHubRegistry : defaultRegistry;
}

function splitRegistry(input: string, path: string): { registry: string; repository: string } {
  const slash = path.indexOf("/");
  const first = slash === -1 ? "" : path.slice(0, slash);
  // Docker's rule: the first component is a host when it has a dot or a port, or is localhost.
  const hasRegistry = first.includes(".") || first.includes(":") || first === "localhost" || first.startsWith("[");
  const rest = hasRegistry ? path.slice(slash + 1) : path;
  const registry = hasRegistry ? validHost(input, registryAliases[first] ?? first) : hostlessRegistry(rest.includes("/") ? rest.slice(0, rest.indexOf("/")) : "");
  const repository = validRepository(input, rest.includes("/") ? rest : `${defaultNamespace}/${rest}`);
  if (repository.length + registry.length + 1 > maxNameLength) {
    throw new InvalidReferenceError(input, `the name is longer than ${maxNameLength} characters`);
  }
  return { registry, repository };
}

function validRepository(input: string, repository: string): string {
  for (const component of repository.split("/")) {
    if (component === "") throw new InvalidReferenceError(input, "the name has an empty path component");
    if (component === "." || component === "..") throw new InvalidReferenceError(input, `"${component}" is not a name component`);
    if (component.length > maxComponentLength) {
      throw new InvalidReferenceError(input, `a name component is longer than ${maxComponentLength} characters`);
    }
    if (!componentPattern.test(component)) {
      throw new InvalidReferenceError(
        input,
        `"${truncate(component)}" must be letters and digits, separated by single ".", "_", "__" or runs of "-"`,
      );
    }
  }
  return repository;
}

function validHost(input: string, host: string): string {
  if (host.length > maxComponentLength || !(hostPattern.test(host) || ipv6HostPattern.test(host))) {
    throw new InvalidReferenceError(input, `"${truncate(host)}" is not a registry host`);
  }
  return host;
}

function validTag(input: string, tag: string): string {
  if (tag.length > maxTagLength) throw new InvalidReferenceError(input, `the tag is longer than ${maxTagLength} characters`);
  if (!tagPattern.test(tag)) {
    throw new InvalidReferenceError(input, `"${truncate(tag)}" is not a tag (letters, digits, "_", "." and "-", not first)`);
  }
  return tag;
}

function parseDigest(input: string, digest: string): Sha256Digest {
  const lower = digest.toLowerCase();
  if (!isSha256Digest(lower)) throw new InvalidReferenceError(input, "a digest is sha256: and 64 hex digits");
  return lower;
}

/** Checked on the raw input, so the reason names the real problem rather than a grammar rule. */
function rejectUnsafeCharacters(input: string, trimmed: string): void {
  if (input.length > maxNameLength + maxTagLength + 80) throw new InvalidReferenceError(input, "it is too long");
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) throw new InvalidReferenceError(input, "it contains control characters");
  if (trimmed.includes("\\")) throw new InvalidReferenceError(input, "it contains a backslash");
  if (trimmed.includes("%")) throw new InvalidReferenceError(input, "it contains percent-encoding");
  if (trimmed.startsWith("/")) throw new InvalidReferenceError(input, "it is an absolute path");
  if (trimmed.split("/").some((part) => part === ".." || part === ".")) {
    throw new InvalidReferenceError(input, "it contains a relative path component");
  }
}

function truncate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
