/**
 * nginx as the hot-path bench's yardstick for one extra hop: one process
 * (`master_process off`, so its CPU time is one pid's), streaming
 * (`proxy_buffering off`), kept-alive connections to the runner's socket.
 * Debian's `nginx-light` is installed with apt-get the first time it is
 * needed; only the bench needs it, never `npm test`.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { findOnPath, isExecutableFile } from "../../src/backends/find-executable.ts";
import { runCommand } from "../../src/backends/run-command.ts";
import type { ProxyProcess } from "./proxy-process.ts";

/** nginx's path, installed (`apt-get install nginx-light`) when there is none. */
export async function ensureNginx(): Promise<string> {
  const found = async () => (await findOnPath("nginx")) ?? ((await isExecutableFile("/usr/sbin/nginx")) ? "/usr/sbin/nginx" : undefined);
  const present = await found();
  if (present) return present;
  console.error("nginx not found: installing Debian's nginx-light with apt-get (for the bench's yardstick only)");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const install = () => runCommand("apt-get", ["install", "-y", "--no-install-recommends", "nginx-light"], { env });
  // A fresh image has no package lists yet.
  await install().catch(async () => {
    await runCommand("apt-get", ["update"], { env });
    await install();
  });
  const installed = await found();
  if (!installed) throw new Error("apt-get installed nginx-light, yet no nginx is found");
  return installed;
}

/** `nginx -v`'s answer, e.g. "nginx/1.22.1". */
export async function nginxVersion(binary: string): Promise<string> {
  const child = spawn(binary, ["-v"], { stdio: ["ignore", "ignore", "pipe"] });
  let output = "";
  child.stderr.on("data", (data: Buffer) => (output += data.toString()));
  await new Promise((resolve) => child.once("close", resolve));
  return /nginx\/\S+/.exec(output)?.[0] ?? output.trim();
}

/** Starts nginx in front of `socket` on a free loopback port, in a scratch directory. */
export async function startNginx(binary: string, socket: string): Promise<ProxyProcess> {
  const dir = await mkdtemp(join(tmpdir(), "modelgate-bench-nginx-"));
  const port = await freePort();
  await writeFile(join(dir, "nginx.conf"), configuration(dir, socket, port));
  const child = spawn(binary, ["-p", dir, "-c", join(dir, "nginx.conf"), "-e", "stderr"], { stdio: ["ignore", "ignore", "pipe"] });
  let outputTail = "";
  child.stderr.on("data", (data: Buffer) => (outputTail = (outputTail + data.toString()).slice(-2_000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = performance.now() + 10_000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || performance.now() > deadline) {
      await stop();
      throw new Error(`nginx did not start:\n${outputTail}`);
    }
    await sleep(10);
  }
  return { url: `http://127.0.0.1:${port}`, pid: child.pid!, stop };
}

function configuration(dir: string, socket: string, port: number): string {
  return `daemon off;
master_process off;
worker_processes 1;
pid ${join(dir, "nginx.pid")};
error_log stderr warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${join(dir, "body")};
  proxy_temp_path ${join(dir, "proxy")};
  upstream engine {
    server unix:${socket};
    keepalive 128;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://engine;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 600s;
      # llama-server may close a kept-alive connection unannounced: sent again on a new one.
      proxy_next_upstream error timeout non_idempotent;
    }
  }
}
`;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (typeof address !== "object" || !address) throw new Error("no free port");
  return address.port;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
