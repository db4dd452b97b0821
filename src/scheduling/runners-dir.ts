import { chmod, mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";

const socketName = /^inference-runner-\d+\.sock$/;

/**
 * Creates `<home>/runners`, readable by this user only (the sockets in it
 * serve the models unauthenticated), and removes sockets a previous gateway
 * left behind.
 */
export async function prepareRunnersDir(home: string): Promise<string> {
  const dir = join(home, "runners");
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700); // mkdir's mode is masked by umask and ignored for an existing dir
  const stale = (await readdir(dir)).filter((name) => socketName.test(name));
  await Promise.all(stale.map((name) => rm(join(dir, name), { force: true })));
  return dir;
}

export function runnerSocketPath(dir: string, slot: number): string {
  return join(dir, `inference-runner-${slot}.sock`);
}
