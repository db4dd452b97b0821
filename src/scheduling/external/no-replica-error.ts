/** Every replica of an external engine that serves the model is down. Maps to a 503. */
export class NoReplicaAvailableError extends Error {
  override readonly name = "NoReplicaAvailableError";
}
