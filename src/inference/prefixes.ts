/**
 * Route prefixes of the gateway, as in Docker Model Runner's `pkg/inference`.
 */

/** Prefixes engine routes on a Docker-style socket while they are experimental. */
export const ExperimentalEndpointsPrefix = "/exp/vDD4.40";

/** Prefix of the inference (engines) routes. */
export const InferencePrefix = "/engines";

/** Prefix of the model manager routes. */
export const ModelsPrefix = "/models";
