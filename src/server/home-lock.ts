import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { tryFileLock, type HeldFileLock } from "../utilities/file-lock.ts";

/** Another gateway already serves this data directory. */
export class HomeInUseError extends Error {
  override readonly name = "HomeInUseError";
}

/**
 * Claims `home` for this gateway: two gateways on one data directory would
 * delete each other's runner sockets and serve each other's runners. The
 * lock names this process; one left by a gateway that died is taken over.
 *
 * @throws HomeInUseError naming the other gateway's pid
 */
export async function lockHome(home: string): Promise<HeldFileLock> {
  await mkdir(home, { recursive: true });
  const lock = await tryFileLock(join(home, "gateway.lock"));
  if ("heldBy" in lock) {
    throw new HomeInUseError(
      `another gateway (pid ${lock.heldBy}) is using the data directory ${home}; stop it, or give this one its own MODELGATE_HOME`,
    );
  }
  return lock;
}
