import { InvalidConfigurationError } from "./invalid-configuration-error.ts";

/**
 * Flags the backend manager sets itself: letting a user override them would
 * point a runner at another model, another socket or another mode.
 */
const managerOwnedFlags = new Set([
  "-m", "--model", "-mu", "--model-url", "-hf", "-hfr", "--hf-repo", "-hff", "--hf-file",
  "-md", "--model-draft", "--host", "--port", "--uds", "--served-model-name",
  "--embedding", "--embeddings", "--reranking", "--rerank", "--runner", "--api-key",
]);

/**
 * Flags whose value is a file the engine reads or writes. Even without a
 * slash, a bare name would land in (or read from) the runner's directory.
 */
const fileFlags = new Set([
  "--log-file", "--slot-save-path", "--path", "--api-key-file", "--ssl-key-file",
  "--ssl-cert-file", "--chat-template-file", "--grammar-file", "--json-schema-file",
  "--lora", "--lora-scaled", "--control-vector", "--control-vector-scaled", "--mmproj",
  "--prompt-cache", "--prompt-file", "--file", "-f", "--logits-file", "--output",
  "--output-file", "-o", "--download-dir", "--media-path",
]);

const controlCharacter = /[\u0000-\u001f\u007f]/;

/**
 * Ensures runtime flags cannot touch the host's files or the manager's own
 * settings. Rejects, as the seed does, any flag or value holding `/` or `\`
 * (Unix and Windows paths, absolute or relative, UNC shares); and beyond the
 * seed, control characters, flags that name files, and flags the manager owns.
 *
 * @example validateRuntimeFlags(["--threads", "4", "--temp=0.2"]); // ok
 * @example validateRuntimeFlags(["--log-file", "/etc/passwd"]); // throws
 * @throws InvalidConfigurationError naming the first offending flag
 */
export function validateRuntimeFlags(flags: readonly string[]): void {
  for (const flag of flags) {
    if (flag.includes("/") || flag.includes("\\")) {
      throw new InvalidConfigurationError(`invalid runtime flag ${JSON.stringify(flag)}: paths are not allowed`);
    }
    if (controlCharacter.test(flag)) {
      throw new InvalidConfigurationError(`invalid runtime flag ${JSON.stringify(flag)}: control characters are not allowed`);
    }
  }
  // Names after paths, so a path is reported as such whichever flag carries it.
  for (const flag of flags) {
    if (!flag.startsWith("-")) continue;
    const name = flag.split("=", 1)[0] ?? flag;
    if (managerOwnedFlags.has(name)) {
      throw new InvalidConfigurationError(`runtime flag ${name} is set by modelgate and cannot be overridden`);
    }
    if (fileFlags.has(name)) {
      throw new InvalidConfigurationError(`runtime flag ${name} names a file and is not allowed`);
    }
  }
}
