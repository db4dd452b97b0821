import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

/** A yardstick proxy running as its own process (so it never shares the bench's event loop). */
export interface ProxyProcess {
  readonly url: string;
  /** Its CPU time is what the hot-path bench reads. */
  readonly pid: number;
  stop(): Promise<void>;
}

/**
 * Runs `node --import tsx <file> <args…>` and resolves once it prints
 * `listening <port>` (see `announceListening`).
 */
export async function startProxyProcess(file: string, args: readonly string[], env: Record<string, string> = {}): Promise<ProxyProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", file, ...args], { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, ...env } });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const port = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`${file} exited (${code}) before listening`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const match = /^listening (\d+)$/.exec(line);
      if (match) resolve(match[1]!);
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** Listens on a free loopback port, says so for `startProxyProcess`, and closes on SIGTERM. */
export function announceListening(server: import("node:http").Server): void {
  server.listen(0, "127.0.0.1", () => {
    const address = server.address();
    console.log(`listening ${typeof address === "object" && address ? address.port : ""}`);
  });
  process.once("SIGTERM", () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
