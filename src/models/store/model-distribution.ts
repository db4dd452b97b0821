/**
 * Pull and push, whatever the source: Hugging Face references go to the
 * Hub, everything else to its OCI registry. Concurrent pulls of one model
 * share one download (later callers hear its progress from where it is);
 * the task stops only when every caller has gone.
 */
import { sharedTasks } from "../../utilities/shared-task.ts";
import { createHubClient, type HubClient } from "../huggingface/hub-client.ts";
import { pullFromHuggingFace } from "../huggingface/huggingface-pull.ts";
import { huggingFaceRegistry, parseNamedReference, type NamedReference } from "../reference.ts";
import { createRegistryClient, type RegistryClient } from "../registry/registry-client.ts";
import type { RemotePolicy } from "../remote-policy.ts";
import { pullFromRegistry } from "../registry/registry-pull.ts";
import { pushToRegistry } from "../registry/registry-push.ts";
import type { ModelStore, StoredModel } from "./model-store.ts";
import type { Progress, ProgressListener } from "./progress.ts";

export interface TransferOptions {
  readonly onProgress?: ProgressListener;
  readonly signal?: AbortSignal;
  /** Plain HTTP to the registry (loopback registries never need it). */
  readonly insecure?: boolean;
}

export interface ModelDistribution {
  /** @throws InvalidReferenceError, RegistryError, HubError, DigestMismatchError, GGUFParseError */
  pull(reference: string | NamedReference, options?: TransferOptions): Promise<StoredModel>;
  /** Pushes the local model of that name to the registry the name points at. */
  push(reference: string | NamedReference, options?: TransferOptions): Promise<StoredModel>;
}

export interface ModelDistributionOptions {
  readonly store: ModelStore;
  readonly registry?: RegistryClient;
  /** `createHubClient({ endpoint: HF_ENDPOINT, token: HF_TOKEN })` by default. */
  readonly hub?: HubClient;
  /** Which hosts the default registry and Hub clients may contact. */
  readonly policy?: RemotePolicy;
}

export function createModelDistribution(options: ModelDistributionOptions): ModelDistribution {
  const { store } = options;
  const { policy } = options;
  const registry = options.registry ?? createRegistryClient({ policy });
  const hub = options.hub ?? createHubClient({ endpoint: process.env.HF_ENDPOINT, token: process.env.HF_TOKEN, policy });
  const pulls = sharedTasks<StoredModel, Progress>();

  const named = (reference: string | NamedReference) => (typeof reference === "string" ? parseNamedReference(reference) : reference);

  return {
    pull(reference, { onProgress, signal, insecure } = {}) {
      const parsed = named(reference);
      return pulls(
        parsed.canonical,
        async (taskSignal, emit) => {
          // The first caller starts listening once this returns: the first event must come after.
          await Promise.resolve();
          return parsed.registry === huggingFaceRegistry
            ? pullFromHuggingFace(store, hub, parsed, { onProgress: emit, signal: taskSignal })
            : pullFromRegistry(store, registry, parsed, { onProgress: emit, signal: taskSignal, insecure });
        },
        { signal, onProgress },
      );
    },

    push(reference, { onProgress, signal, insecure } = {}) {
      return pushToRegistry(store, registry, named(reference), { onProgress, signal, insecure });
    },
  };
}
