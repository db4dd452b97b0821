/**
 * A real OCI registry for tests: Debian's `docker-registry` (distribution
 * 2.8), started on 127.0.0.1 on a port of its own choosing with a temporary storage
 * directory, open, behind Basic auth (htpasswd) or behind token auth with a
 * token server started here. Also a loopback TCP proxy the test can cut.
 */
import { execFile, type ChildProcess } from "node:child_process";
import { createHash, createPrivateKey, createPublicKey, randomUUID, sign, type KeyObject } from "node:crypto";
import { access, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createTcpServer, connect, type AddressInfo, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { spawnTied } from "./processes.ts";

/** Where Debian's package puts it; `DOCKER_REGISTRY_PATH` overrides. */
export const registryBinary = process.env.DOCKER_REGISTRY_PATH ?? "/usr/bin/docker-registry";

/** The registry tests need Debian's docker-registry: say how to get it rather than skip them. */
export async function requireRegistry(): Promise<void> {
  await access(registryBinary).catch(() => {
    throw new Error(`no docker-registry at ${registryBinary}: apt-get install docker-registry (or set DOCKER_REGISTRY_PATH)`);
  });
}

export const registryCredentials = { username: "modelgate", password: "secret" } as const;
/** bcrypt (cost 4) of `secret`, the only hash htpasswd in distribution accepts. */
const htpasswdLine = `${registryCredentials.username}:$2b$04$4cLdUcjm4B44xpoPLNm14OyITUuJrKNfwTZwwNyujxiUAYHD9Gxym\n`;

export interface TestRegistry {
  /** `127.0.0.1:<port>`: what model references start with. */
  readonly host: string;
  readonly url: string;
  readonly storage: string;
  /** Token requests seen by the token server (token auth only). */
  readonly tokenRequests: URL[];
  stop(): Promise<void>;
}

export interface RegistryOptions {
  readonly auth?: "none" | "basic" | "token";
}

export async function startRegistry(options: RegistryOptions = {}): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), "modelgate-registry-"));
  const tokenRequests: URL[] = [];
  let tokenServer: Server | undefined;
  let auth = "";
  if (options.auth === "basic") {
    await writeFile(join(dir, "htpasswd"), htpasswdLine);
    auth = `auth:\n  htpasswd:\n    realm: modelgate-test\n    path: ${join(dir, "htpasswd")}\n`;
  } else if (options.auth === "token") {
    const keys = await generateSigningKey(dir);
    tokenServer = await startTokenServer(keys.privateKey, keys.keyId, tokenRequests);
    const tokenPort = (tokenServer.address() as AddressInfo).port;
    auth = [
      "auth:",
      "  token:",
      `    realm: http://127.0.0.1:${tokenPort}/token`,
      `    service: ${tokenService}`,
      `    issuer: ${tokenIssuer}`,
      `    rootcertbundle: ${keys.certificate}`,
      "",
    ].join("\n");
  }
  const config = [
    "version: 0.1",
    "log:",
    "  level: info", // its "listening on" line says which port it got
    "  accesslog:",
    "    disabled: true",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${join(dir, "data")}`,
    "  delete:",
    "    enabled: true",
    "  maintenance:",
    "    uploadpurging:",
    "      enabled: false",
    "http:",
    // Port 0: the registry binds a port the kernel picks. A port found free here and handed over could be
    // taken in between (the token server's own port 0 among others), and the registry would not start.
    "  addr: 127.0.0.1:0",
    `  secret: ${randomUUID()}`,
    auth,
  ].join("\n");
  await writeFile(join(dir, "config.yml"), config);

  const child = await spawnTied(registryBinary, ["serve", join(dir, "config.yml")], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  let host: string | undefined;
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
    host ??= /listening on (127\.0\.0\.1:\d+)/.exec(stderr)?.[1];
  });
  const url = await waitForRegistry(child, () => host, () => stderr);

  return {
    host: new URL(url).host,
    url,
    storage: dir,
    tokenRequests,
    async stop() {
      await stopChild(child);
      await new Promise<void>((resolve) => (tokenServer ? tokenServer.close(() => resolve()) : resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Its URL, once it has said where it listens and answers there. */
async function waitForRegistry(child: ChildProcess, host: () => string | undefined, stderr: () => string): Promise<string> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}: ${stderr()}`);
    const found = host();
    if (found) {
      const url = `http://${found}`;
      const status = await fetch(`${url}/v2/`).then(
        (response) => response.status,
        () => 0,
      );
      if (status === 200 || status === 401) return url;
    }
    await sleep(50);
  }
  throw new Error(`docker-registry did not answer within 15 s: ${stderr()}`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

// --- token auth -----------------------------------------------------------

const tokenService = "modelgate-test-registry";
const tokenIssuer = "modelgate-test-token-server";

/** An EC P-256 key and a self-signed certificate (the registry's `rootcertbundle`), made with openssl. */
async function generateSigningKey(dir: string): Promise<{ privateKey: KeyObject; keyId: string; certificate: string }> {
  const keyPath = join(dir, "token.key");
  const certificate = join(dir, "token.crt");
  await promisify(execFile)("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=modelgate-test-token",
    "-keyout",
    keyPath,
    "-out",
    certificate,
  ]);
  const privateKey = createPrivateKey(await readFile(keyPath));
  return { privateKey, keyId: libtrustKeyId(createPublicKey(privateKey)), certificate };
}

/**
 * The key ID distribution looks trusted keys up by (docker/libtrust): the
 * SHA-256 of the DER public key, cut to 240 bits, base32, in groups of four.
 */
function libtrustKeyId(publicKey: KeyObject): string {
  const hash = createHash("sha256").update(publicKey.export({ type: "spki", format: "der" })).digest().subarray(0, 30);
  return base32(hash).match(/.{1,4}/g)!.join(":");
}

function base32(bytes: Uint8Array): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

/** Grants whatever is asked to whoever presents the test credentials; anonymous callers get nothing. */
async function startTokenServer(privateKey: KeyObject, keyId: string, seen: URL[]): Promise<Server> {
  const server = createHttpServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    seen.push(url);
    const expected = `Basic ${Buffer.from(`${registryCredentials.username}:${registryCredentials.password}`).toString("base64")}`;
    if (request.headers.authorization !== expected) {
      response.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ details: "bad credentials" }));
      return;
    }
    const access = url.searchParams.getAll("scope").map((scope) => {
      const [type, ...rest] = scope.split(":");
      const actions = rest.pop() ?? "";
      return { type, name: rest.join(":"), actions: actions.split(",") };
    });
    const token = signJwt(privateKey, keyId, {
      iss: tokenIssuer,
      sub: registryCredentials.username,
      aud: url.searchParams.get("service") ?? tokenService,
      exp: Math.floor(Date.now() / 1000) + 300,
      nbf: Math.floor(Date.now() / 1000) - 10,
      iat: Math.floor(Date.now() / 1000),
      jti: randomUUID(),
      access,
    });
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token, expires_in: 300 }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

function signJwt(privateKey: KeyObject, keyId: string, claims: Record<string, unknown>): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const input = `${encode({ typ: "JWT", alg: "ES256", kid: keyId })}.${encode(claims)}`;
  const signature = sign("sha256", Buffer.from(input), { key: privateKey, dsaEncoding: "ieee-p1363" });
  return `${input}.${signature.toString("base64url")}`;
}

// --- a proxy the test can cut ----------------------------------------------

export interface CuttingProxy {
  /** `127.0.0.1:<port>`, to put in model references instead of the registry's. */
  readonly host: string;
  /** Every request line and its Range header (if any), in order. */
  readonly requests: { line: string; range?: string }[];
  /** Cuts the first connection that then carries more than `bytes` further bytes from the registry, after forwarding that many. */
  cutNextResponseAfter(bytes: number): void;
  close(): Promise<void>;
}

/** Forwards loopback TCP to `target`, reading requests as they pass so tests can see Range headers. */
export async function startCuttingProxy(target: string): Promise<CuttingProxy> {
  const [targetHost, targetPort] = target.split(":");
  const requests: { line: string; range?: string }[] = [];
  const sockets = new Set<Socket>();
  let cutAfter: number | undefined;

  const server = createTcpServer((client) => {
    const upstream = connect(Number(targetPort), targetHost!);
    sockets.add(client).add(upstream);
    const forget = () => {
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("close", forget);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.on("data", (chunk: Buffer) => {
      const text = chunk.toString("latin1");
      for (const match of text.matchAll(/^(GET|HEAD|PUT|POST|PATCH|DELETE) [^\r\n]+/gm)) {
        const head = text.slice(match.index, text.indexOf("\r\n\r\n", match.index));
        requests.push({ line: match[0], range: /^range: *(.+)$/im.exec(head)?.[1] });
      }
      upstream.write(chunk);
    });
    let forwarded = 0;
    let limit: number | undefined;
    upstream.on("data", (chunk: Buffer) => {
      if (limit === undefined && cutAfter !== undefined) {
        limit = forwarded + cutAfter;
        cutAfter = undefined;
      }
      if (limit !== undefined && forwarded + chunk.byteLength > limit) {
        client.write(chunk.subarray(0, limit - forwarded));
        client.destroy();
        upstream.destroy();
        return;
      }
      forwarded += chunk.byteLength;
      client.write(chunk);
    });
    upstream.on("end", () => client.end());
    client.on("end", () => upstream.end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    cutNextResponseAfter(bytes) {
      cutAfter = bytes;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export async function freePort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
