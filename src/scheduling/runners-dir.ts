import { constants } from "node:fs";
import { mkdir, open, readdir, rename } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Logger } from "pino";
import { clearSocketPath } from "../backends/socket-path.ts";

const socketName = /^inference-runner-\d+\.sock$/;

/**
 * Creates `<home>/runners`, readable by this user only (the sockets in it
 * serve the models unauthenticated), and removes sockets a previous gateway
 * left behind. Links are never followed: a symbolic link (or a file) where
 * the directory belongs is moved aside and a directory made in its place,
 * so nothing outside the home is created in, narrowed or deleted. An entry
 * that cannot be cleared is logged and left: its slot clears it again
 * before a runner binds there.
 */
export async function prepareRunnersDir(home: string, logger: Logger): Promise<string> {
  const dir = join(home, "runners");
  await makePrivateDir(dir, logger);
  const stale = (await readdir(dir)).filter((name) => socketName.test(name));
  await Promise.all(stale.map((name) => clearRunnerSocket(join(dir, name), logger).catch(() => undefined)));
  return dir;
}

export function runnerSocketPath(dir: string, slot: number): string {
  return join(dir, `inference-runner-${slot}.sock`);
}

/**
 * Clears a runner's socket path, logging what it moved aside or why it
 * could not; the error is rethrown for the caller to decide.
 */
export async function clearRunnerSocket(path: string, logger: Logger): Promise<void> {
  try {
    const aside = await clearSocketPath(path);
    if (aside) logger.warn({ path, movedTo: aside }, "a directory stood at a runner's socket path: moved aside");
  } catch (error) {
    logger.error({ err: error, path }, "cannot clear a runner's socket path");
    throw error;
  }
}

async function makePrivateDir(dir: string, logger: Logger): Promise<void> {
  await mkdir(dirname(dir), { recursive: true });
  await mkdir(dir, { mode: 0o700 }).catch(ignoreCode("EEXIST"));
  let handle = await openDirNoFollow(dir);
  if (!handle) {
    const aside = `${dir}.moved-${Date.now()}`;
    logger.warn({ path: dir, movedTo: aside }, "the runners directory was a link or a file: moved aside, a directory made in its place");
    await rename(dir, aside);
    await mkdir(dir, { mode: 0o700 });
    handle = await openDirNoFollow(dir);
    if (!handle) throw new Error(`${dir} keeps being replaced by a link or a file`);
  }
  try {
    await handle.chmod(0o700); // mkdir's mode is masked by umask and ignored for an existing dir
  } finally {
    await handle.close();
  }
}

/** The directory itself, never what a link there points to; undefined when `dir` is a link or not a directory. */
async function openDirNoFollow(dir: string) {
  try {
    return await open(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ELOOP" || code === "ENOTDIR") return undefined;
    throw error;
  }
}

function ignoreCode(code: string) {
  return (error: NodeJS.ErrnoException) => {
    if (error.code !== code) throw error;
  };
}
